package api

import (
	"strings"
	"testing"
)

func TestParseSelfTestRequest(t *testing.T) {
	for _, c := range []struct{ in, what, err string }{
		{`{"what":"lights"}`, "lights", ""},
		{`{"what":"haptics"}`, "haptics", ""},
		{`{"what":"sensors"}`, "sensors", ""},
		{`{"what":"strobe"}`, "", `what "strobe": want lights, haptics or sensors`},
		{`{"what":"lights","x":1}`, "", `request is not a self-test object (want {"what": "lights"|"haptics"|"sensors"}): json: unknown field "x"`},
		{`{"what":"lights"} {}`, "", "request has data after its object"},
		{`{"what":"` + strings.Repeat("a", 300) + `"}`, "", "request larger than 256 bytes"},
	} {
		what, err := ParseSelfTestRequest(strings.NewReader(c.in))
		if what != c.what || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("ParseSelfTestRequest(%.40q) = %q, %v; want %q, %q", c.in, what, err, c.what, c.err)
		}
	}
}

func FuzzParseSelfTestRequest(f *testing.F) {
	f.Add(`{"what":"lights"}`)
	f.Add(`{"what":1}`)
	f.Fuzz(func(t *testing.T, in string) {
		what, err := ParseSelfTestRequest(strings.NewReader(in))
		if err == nil && what != "lights" && what != "haptics" && what != "sensors" {
			t.Fatalf("accepted %q", what)
		}
		if err != nil && what != "" {
			t.Fatalf("an error with what %q", what)
		}
	})
}
