package mqtttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// PasswordFile writes a mosquitto password file holding users (name to
// password) with mosquitto_passwd, under the test's TempDir, and returns
// its path for Options.PasswordFile. mosquitto_passwd comes with
// mosquitto; without it the test is skipped, except under CI.
func PasswordFile(t testing.TB, users map[string]string) string {
	t.Helper()
	var bin string
	for _, p := range []string{"mosquitto_passwd", "/usr/bin/mosquitto_passwd"} {
		if b, err := exec.LookPath(p); err == nil {
			bin = b
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "" {
			t.Skip("mosquitto_passwd not installed (make deps installs mosquitto)")
		}
		t.Fatal("mosquitto_passwd not installed, and CI is set")
	}
	file := filepath.Join(t.TempDir(), "passwd")
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		args := []string{"-b", file, name, users[name]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %s: %v: %s", name, err, out)
		}
	}
	return file
}
