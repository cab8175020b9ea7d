package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
)

// noBuses is hardware with every line free and no bus: for checks that
// must not reach a chip.
type noBuses struct{}

var errNoBus = errors.New("no bus in this test")

func (noBuses) I2C(string) (i2c.Bus, error)    { return nil, errNoBus }
func (noBuses) SPI(string) (spi.Port, error)   { return nil, errNoBus }
func (noBuses) Pin(string) (gpio.PinIO, error) { return nil, errNoBus }
func (noBuses) Line(string) (LineInfo, error)  { return LineInfo{}, nil }
func (noBuses) Run(ctx context.Context) error  { <-ctx.Done(); return nil }
func (noBuses) Simulated() bool                { return false }
func (noBuses) Close() error                   { return nil }

// podConfig loads configs/pod.yaml (linux mode) with the store and the
// socket in dir.
func podConfig(t *testing.T, dir string) *configs.Config {
	t.Helper()
	t.Chdir(repoRoot)
	cfg, err := configs.Load("configs/pod.yaml", []string{"PODD_STORAGE_PATH=" + filepath.Join(dir, "podd.db"), "PODD_API_SOCKET=" + filepath.Join(dir, "podd.sock")})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeDev makes a fake /dev under root holding nodes (regular files
// stand in for device nodes).
func fakeDev(t *testing.T, root string, nodes ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := os.WriteFile(filepath.Join(root, "dev", n), nil, 0o660); err != nil {
			t.Fatal(err)
		}
	}
}

// configs/pod.yaml needs /dev/i2c-1, the strip's /dev/spidev0.0, the
// EEG's /dev/spidev1.0 and a GPIO chip; one missing fails with the fix
// that enables its bus, the others pass.
func TestDoctorFailsAMissingDeviceNode(t *testing.T) {
	dir, root := t.TempDir(), t.TempDir()
	fakeDev(t, root, "i2c-1", "spidev0.0", "gpiochip0")
	cfg := podConfig(t, dir)
	d, c := newDoctor(cfg, healthySystem(root), func() (Hardware, error) { return noBuses{}, nil })
	defer c.Close()
	got := d.Run(context.Background())
	var nodes []line
	for _, l := range lines(got) {
		if strings.HasPrefix(l.check, "node ") {
			nodes = append(nodes, l)
		}
	}
	want := []line{
		{"node /dev/i2c-1", Pass, "present, opens for reading and writing (hardware.i2c_bus)"},
		{"node /dev/spidev0.0", Pass, "present, opens for reading and writing (hardware.spi_port)"},
		{"node /dev/spidev1.0", Fail, "missing (sensors.ads1299.spi_port)"},
		{"node /dev/gpiochip0", Pass, "present, opens for reading and writing (GPIO lines)"},
	}
	if fmt.Sprint(nodes) != fmt.Sprint(want) {
		t.Fatalf("nodes:\n%s\nwant:\n%s", show(nodes), show(want))
	}
	if f := find(t, got, "node /dev/spidev1.0").Fix; !strings.Contains(f, "dtoverlay=spi1-1cs") {
		t.Errorf("fix %q: want the overlay that enables SPI1", f)
	}
	if r := find(t, got, "line GPIO17 (hardware.consent_button)"); r.Verdict != Pass || r.Detail != "free" {
		t.Errorf("consent button: %+v", r)
	}
}

// damage overwrites every page of a bbolt file but its two meta pages.
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	for i := 2 * page; i < len(b); i++ {
		b[i] = 0xa5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A store whose pages are damaged fails, with the fix: podd sets it
// aside at its start. The check changes nothing.
func TestDoctorFailsADamagedStore(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir)
	s, err := journal.Open(cfg.Storage.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := s.Append("t", time.Now(), func(uint64) ([]byte, error) {
			return fmt.Appendf(nil, "record %d %s", i, strings.Repeat("x", 200)), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	d := &Doctor{Config: cfg, System: healthySystem("")}
	if r := d.checkStore(cfg, podDown, api0); r.Verdict != Pass || r.Detail != "sound: every page checked ("+cfg.Storage.Path+")" {
		t.Fatalf("sound store: %+v", r)
	}
	damage(t, cfg.Storage.Path)
	before, _ := os.ReadFile(cfg.Storage.Path)
	r := d.checkStore(cfg, podDown, api0)
	if r.Verdict != Fail || !strings.HasPrefix(r.Detail, cfg.Storage.Path+": journal damaged") || !strings.Contains(r.Fix, "sets the damaged file aside") {
		t.Fatalf("damaged store: %+v", r)
	}
	if after, _ := os.ReadFile(cfg.Storage.Path); string(after) != string(before) {
		t.Fatal("the check changed the store")
	}
	if _, err := os.Stat(cfg.Storage.Path + ".damaged"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the check set something aside")
	}
}

// brokerConfig is configs/sim.yaml reporting to broker with env's uplink
// keys.
func brokerConfig(t *testing.T, broker string, env ...string) *configs.Config {
	t.Helper()
	return simConfig(t, t.TempDir(), append([]string{"PODD_UPLINK_BROKER=" + broker}, env...)...)
}

func TestDoctorChecksTheBroker(t *testing.T) {
	port := mqtttest.FreePort(t)
	plain := mqtttest.Start(t, false)
	users := mqtttest.PasswordFile(t, map[string]string{"sim-pod-1": "s3cret"})
	guarded := mqtttest.StartWith(t, mqtttest.Options{PasswordFile: users})
	pw := func(p string) string {
		f := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(f, []byte(p+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct {
		name    string
		broker  string
		env     []string
		verdict Verdict
		detail  string
	}{
		{"down", fmt.Sprintf("tcp://127.0.0.1:%d", port), nil, Fail,
			fmt.Sprintf("cannot connect to 127.0.0.1:%d: dial tcp 127.0.0.1:%d: connect: connection refused", port, port)},
		{"anonymous", plain.URL(), nil, Pass, "MQTT CONNECT accepted anonymously at " + strings.TrimPrefix(plain.URL(), "tcp://")},
		{"the pod's password", guarded.URL(), []string{"PODD_UPLINK_USERNAME=sim-pod-1", "PODD_UPLINK_PASSWORD_FILE=" + pw("s3cret")}, Pass,
			"MQTT CONNECT accepted as sim-pod-1 at " + strings.TrimPrefix(guarded.URL(), "tcp://")},
		{"a wrong password", guarded.URL(), []string{"PODD_UPLINK_USERNAME=sim-pod-1", "PODD_UPLINK_PASSWORD_FILE=" + pw("wrong")}, Fail,
			"MQTT CONNECT as sim-pod-1 refused: not authorized (5)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := brokerConfig(t, c.broker, c.env...)
			d := &Doctor{Config: cfg, System: healthySystem("")}
			got := d.checkBrokers(context.Background(), cfg, podDown)
			want := []line{{"broker " + c.broker, c.verdict, c.detail}}
			if fmt.Sprint(lines(got)) != fmt.Sprint(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", show(lines(got)), show(want))
			}
		})
	}
}

// A TLS broker: the certificate is checked under uplink.tls.ca and the
// host name; one that expires within 30 days (the test CA's last a day)
// is a warning, a certificate for another name a failure.
func TestDoctorChecksTheBrokersCertificate(t *testing.T) {
	ca := mqtttest.NewCA(t, "doctor test CA")
	m := mqtttest.StartWith(t, mqtttest.Options{TLS: ca.Listener(t, false)})
	cfg := brokerConfig(t, m.URL(), "PODD_UPLINK_TLS_CA="+ca.CertFile)
	d := &Doctor{Config: cfg, System: healthySystem("")}
	got := d.checkBrokers(context.Background(), cfg, podDown)
	if len(got) != 2 {
		t.Fatalf("results %+v: want the broker's and its certificate's", got)
	}
	addr := strings.TrimPrefix(m.URL(), "ssl://")
	if got[0] != (Result{Check: "broker " + m.URL(), Verdict: Pass, Detail: "MQTT CONNECT accepted anonymously at " + addr}) {
		t.Errorf("broker: %+v", got[0])
	}
	cert := got[1]
	if cert.Check != "broker "+m.URL()+" certificate" || cert.Verdict != Warn ||
		!strings.HasPrefix(cert.Detail, "valid for 127.0.0.1, signed by doctor test CA, until ") || !strings.HasSuffix(cert.Detail, ": expires within 30 days") {
		t.Errorf("certificate: %+v", cert)
	}

	cfg = brokerConfig(t, m.URL(), "PODD_UPLINK_TLS_CA="+ca.CertFile, "PODD_UPLINK_TLS_SERVER_NAME=hub.example")
	d = &Doctor{Config: cfg, System: healthySystem("")}
	got = d.checkBrokers(context.Background(), cfg, podDown)
	if len(got) != 2 || got[0].Verdict != Fail || got[1].Verdict != Fail ||
		got[1].Detail != "not valid for hub.example: x509: certificate is valid for localhost, not hub.example" ||
		!strings.Contains(got[1].Fix, "uplink.tls.server_name") {
		t.Fatalf("another name: %+v", got)
	}
}

func FuzzParseConnAck(f *testing.F) {
	f.Add([]byte{0x20, 0x02, 0x00, 0x00})
	f.Add([]byte{0x20, 0x02, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, err := ParseConnAck(b)
		if err == nil && (len(b) != 4 || code > 5 || code != b[3]) {
			t.Fatalf("ParseConnAck(% X) = %d", b, code)
		}
		if err == nil {
			_ = connackText(code)
		}
	})
}

func TestParseConnAck(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		code byte
		err  string
	}{
		{[]byte{0x20, 0x02, 0x00, 0x00}, 0, ""},
		{[]byte{0x20, 0x02, 0x00, 0x04}, 4, ""},
		{[]byte{0x20, 0x02, 0x00, 0x06}, 0, "CONNACK return code 6: not MQTT 3.1.1's"},
		{[]byte{0x20, 0x02, 0x02, 0x00}, 0, "CONNACK with reserved flags set: 20 02 02 00"},
		{[]byte{0x30, 0x02, 0x00, 0x00}, 0, "not an MQTT CONNACK: 30 02 00 00"},
		{[]byte{0x20, 0x02, 0x00}, 0, "not an MQTT CONNACK: 20 02 00"},
	} {
		code, err := ParseConnAck(c.in)
		if code != c.code || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("ParseConnAck(% X) = %d, %v; want %d, %q", c.in, code, err, c.code, c.err)
		}
	}
}

// heldLines is hardware whose lines are held as consumers says (absent:
// free; "-": no such line).
type heldLines struct {
	noBuses
	consumers map[string]string
}

func (h heldLines) Line(name string) (LineInfo, error) {
	c := h.consumers[name]
	if c == "-" {
		return LineInfo{}, errNoLine
	}
	return LineInfo{Consumer: c}, nil
}

// configs/pod.yaml's lines: free or podd's pass; another program's, or a
// name the board does not have, fail.
func TestDoctorJudgesWhoHoldsEachGPIOLine(t *testing.T) {
	cfg := podConfig(t, t.TempDir())
	hw := heldLines{consumers: map[string]string{"GPIO27": "podd@812", "GPIO22": "gpiomon@4242", "GPIO12": "-"}}
	d := &Doctor{Config: cfg, System: healthySystem(""), OpenHardware: func() (Hardware, error) { return hw, nil }}
	got := lines(d.checkLines(cfg, podDown, api0, hw))
	want := []line{
		{"line GPIO17 (hardware.consent_button)", Pass, "free"},
		{"line GPIO27 (hardware.panic_button)", Pass, "held by podd (podd@812)"},
		{"line GPIO22 (hardware.ack_button)", Fail, "held by gpiomon@4242"},
		{"line GPIO12 (hardware.indicator_led)", Fail, "no such GPIO line"},
		{"line GPIO25 (sensors.ads1299.drdy)", Pass, "free"},
		{"line GPIO6 (lights.pca9685.oe)", Pass, "free"},
		{"line GPIO13 (haptics.drv2605.en)", Pass, "free"},
		{"line GPIO5 (haptics.places.feet.line)", Pass, "free"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines:\n%s\nwant:\n%s", show(got), show(want))
	}
}

// On a machine with no GPIO chip at all every line is missing, and the
// fix points at the missing chip rather than at the line's name.
func TestDoctorBlamesAMissingGPIOChipNotTheLinesName(t *testing.T) {
	cfg := podConfig(t, t.TempDir())
	hw := heldLines{consumers: map[string]string{"GPIO12": "-"}}
	for _, c := range []struct {
		dev []string
		fix string
	}{
		{nil, noChipFix},
		{[]string{"gpiochip0"}, noLineFix},
	} {
		root := t.TempDir()
		fakeDev(t, root, c.dev...)
		d := &Doctor{Config: cfg, System: healthySystem(root), OpenHardware: func() (Hardware, error) { return hw, nil }}
		r := find(t, d.checkLines(cfg, podDown, api0, hw), "line GPIO12 (hardware.indicator_led)")
		if r.Verdict != Fail || r.Fix != c.fix {
			t.Errorf("devices %v: %+v, want a failure with the fix %q", c.dev, r, c.fix)
		}
	}
}
