package ads1299_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sleegation/podd/sensors/ads1299"
)

func TestDecodeFrame(t *testing.T) {
	b := []byte{
		0xC1, 0x23, 0x45, // 1100, LOFF_STATP 0x12, LOFF_STATN 0x34, GPIO 0x5
		0x7F, 0xFF, 0xFF, // +full scale
		0x80, 0x00, 0x00, // −full scale
		0xFF, 0xFF, 0xFF, // −1
		0x00, 0x00, 0x01, // 1
		0x00, 0x00, 0x00,
		0x12, 0x34, 0x56,
		0xED, 0xCB, 0xAA, // −0x123456
		0x80, 0x00, 0x01,
	}
	f := ads1299.Frame{Skipped: 7}
	if err := ads1299.DecodeFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	want := ads1299.Frame{
		LeadOffP: 0x12, LeadOffN: 0x34, GPIO: 0x5,
		Raw:     [8]int32{8388607, -8388608, -1, 1, 0, 0x123456, -0x123456, -8388607},
		Skipped: 7,
	}
	if f != want {
		t.Errorf("DecodeFrame = %+v, want %+v", f, want)
	}
	if !ads1299.Saturated(f.Raw[0]) || !ads1299.Saturated(f.Raw[1]) || ads1299.Saturated(f.Raw[7]) {
		t.Errorf("Saturated(%d, %d, %d) wrong", f.Raw[0], f.Raw[1], f.Raw[7])
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	good := make([]byte, ads1299.FrameSize)
	good[0] = 0xC0
	tests := []struct {
		name string
		b    []byte
		want string
		bad  bool
	}{
		{"short", good[:26], "ads1299: frame of 26 bytes, want 27", false},
		{"long", append(good[:27:27], 0), "ads1299: frame of 28 bytes, want 27", false},
		{"zeros", make([]byte, 27), "ads1299: bad status word 0x000000 (want 0xC in its top 4 bits)", true},
		{"ones", bytes.Repeat([]byte{0xFF}, 27), "ads1299: bad status word 0xFFFFFF (want 0xC in its top 4 bits)", true},
		{"shifted a byte", append([]byte{0x00}, good[:26]...), "ads1299: bad status word 0x00C000 (want 0xC in its top 4 bits)", true},
	}
	for _, tt := range tests {
		f := ads1299.Frame{Raw: [8]int32{1, 2, 3}}
		err := ads1299.DecodeFrame(tt.b, &f)
		if err == nil || err.Error() != tt.want || errors.Is(err, ads1299.ErrBadStatus) != tt.bad {
			t.Errorf("%s: DecodeFrame = %v, want %q (ErrBadStatus %v)", tt.name, err, tt.want, tt.bad)
		}
		if f != (ads1299.Frame{Raw: [8]int32{1, 2, 3}}) {
			t.Errorf("%s: a refused frame changed f: %+v", tt.name, f)
		}
	}
}

// encode is DecodeFrame's inverse, from the datasheet's frame layout.
func encode(f *ads1299.Frame) []byte {
	b := make([]byte, ads1299.FrameSize)
	status := uint32(0xC)<<20 | uint32(f.LeadOffP)<<12 | uint32(f.LeadOffN)<<4 | uint32(f.GPIO&0x0F)
	b[0], b[1], b[2] = byte(status>>16), byte(status>>8), byte(status)
	for i, v := range f.Raw {
		b[3+3*i], b[4+3*i], b[5+3*i] = byte(v>>16), byte(v>>8), byte(v)
	}
	return b
}

// FuzzDecodeFrame: any bytes decode to a frame that encodes back to them,
// or are refused with f untouched; never a panic.
func FuzzDecodeFrame(f *testing.F) {
	seed := make([]byte, ads1299.FrameSize)
	seed[0] = 0xC0
	f.Add(seed)
	f.Add(bytes.Repeat([]byte{0xFF}, 27))
	f.Add([]byte{0xCF, 0xFF, 0xFF, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sentinel := ads1299.Frame{LeadOffP: 9, Raw: [8]int32{-5}, Skipped: 3}
		fr := sentinel
		err := ads1299.DecodeFrame(b, &fr)
		if err != nil {
			if fr != sentinel {
				t.Fatalf("DecodeFrame(% X) = %v and changed f to %+v", b, err, fr)
			}
			if len(b) == ads1299.FrameSize && !errors.Is(err, ads1299.ErrBadStatus) {
				t.Fatalf("DecodeFrame(% X) = %v, want ErrBadStatus", b, err)
			}
			return
		}
		if len(b) != ads1299.FrameSize || b[0]>>4 != 0xC {
			t.Fatalf("DecodeFrame accepted % X", b)
		}
		for i, v := range fr.Raw {
			if v < -1<<23 || v >= 1<<23 {
				t.Fatalf("channel %d = %d, outside 24 bits", i+1, v)
			}
		}
		if fr.GPIO > 0x0F || fr.Skipped != 3 {
			t.Fatalf("GPIO %#x, Skipped %d", fr.GPIO, fr.Skipped)
		}
		if got := encode(&fr); !bytes.Equal(got, b) {
			t.Fatalf("DecodeFrame(% X) = %+v, which encodes to % X", b, fr, got)
		}
	})
}
