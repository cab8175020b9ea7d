package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sleegation/podd/configs"
)

// I2CNode is the device node of a periph I²C bus name: bus N is "N",
// "I2CN" or "/dev/i2c-N" (any case), its node /dev/i2c-N. ok is false for
// a name of another form.
func I2CNode(name string) (node string, ok bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, prefix := range []string{"/DEV/I2C-", "I2C", ""} {
		rest, found := strings.CutPrefix(n, prefix)
		if !found {
			continue
		}
		if num, err := strconv.ParseUint(rest, 10, 16); err == nil && rest != "" && rest[0] != '+' {
			return fmt.Sprintf("/dev/i2c-%d", num), true
		}
	}
	return "", false
}

// SPINode is the device node of a periph SPI port name: chip select M of
// bus N is "SPIN.M" or "/dev/spidevN.M" (any case), and chip select 0
// also "N"; its node /dev/spidevN.M. ok is false for a name of another
// form.
func SPINode(name string) (node string, ok bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	rest := ""
	switch {
	case strings.HasPrefix(n, "/DEV/SPIDEV"):
		rest = n[len("/DEV/SPIDEV"):]
	case strings.HasPrefix(n, "SPI"):
		rest = n[len("SPI"):]
	default:
		rest = n + ".0"
	}
	bus, cs, found := strings.Cut(rest, ".")
	if !found {
		return "", false
	}
	b, err1 := strconv.ParseUint(bus, 10, 16)
	c, err2 := strconv.ParseUint(cs, 10, 16)
	if err1 != nil || err2 != nil || bus == "" || cs == "" || bus[0] == '+' || cs[0] == '+' {
		return "", false
	}
	return fmt.Sprintf("/dev/spidev%d.%d", b, c), true
}

// node is a device node the configuration needs, with the key that names
// it and the group the packaging's udev rule gives it.
type node struct {
	path, key, group string
}

// nodes are the configuration's bus device nodes, each once, in the
// order of the keys; bad are the names of no known form.
func nodes(cfg *configs.Config) (out []node, bad []Result) {
	add := func(path, key, group string) {
		if !slices.ContainsFunc(out, func(n node) bool { return n.path == path }) {
			out = append(out, node{path, key, group})
		}
	}
	i2cKeys := []struct{ key, name string }{
		{"hardware.i2c_bus", cfg.Hardware.I2CBus},
		{"sensors.max30102.i2c_bus", cfg.Bus(cfg.Sensors.MAX30102.I2CBus)},
	}
	if cfg.Sensors.TMP117.Enabled {
		i2cKeys = append(i2cKeys, struct{ key, name string }{"sensors.tmp117.i2c_bus", cfg.Bus(cfg.Sensors.TMP117.I2CBus)})
	}
	if cfg.Sensors.ADS1115.Enabled {
		i2cKeys = append(i2cKeys, struct{ key, name string }{"sensors.ads1115.i2c_bus", cfg.Bus(cfg.Sensors.ADS1115.I2CBus)})
	}
	if cfg.Lights.PCA9685.Enabled {
		i2cKeys = append(i2cKeys, struct{ key, name string }{"lights.pca9685.i2c_bus", cfg.Bus(cfg.Lights.PCA9685.I2CBus)})
	}
	if usesDRV2605(cfg) {
		i2cKeys = append(i2cKeys, struct{ key, name string }{"haptics.drv2605.i2c_bus", cfg.Bus(cfg.Haptics.DRV2605.I2CBus)})
	}
	for _, k := range i2cKeys {
		if p, ok := I2CNode(k.name); ok {
			add(p, k.key, "i2c")
		} else {
			bad = append(bad, warn("node "+k.key, fmt.Sprintf("%q is not an I2C bus number (N, I2CN, /dev/i2c-N): its device node cannot be checked", k.name), "name the bus by its number"))
		}
	}
	spiKeys := []struct{ key, name string }{{"hardware.spi_port", cfg.Hardware.SPIPort}}
	if cfg.Sensors.ADS1299.Enabled {
		spiKeys = append(spiKeys, struct{ key, name string }{"sensors.ads1299.spi_port", cfg.Sensors.ADS1299.SPIPort})
	}
	for _, k := range spiKeys {
		if p, ok := SPINode(k.name); ok {
			add(p, k.key, "spi")
		} else {
			bad = append(bad, warn("node "+k.key, fmt.Sprintf("%q is not an SPI port name (SPIN.M, /dev/spidevN.M): its device node cannot be checked", k.name), "name the port as SPIN.M"))
		}
	}
	return out, bad
}

// checkNodes checks that every bus device node, and the GPIO chips when
// a line is configured, exist and open for reading and writing.
func (d *Doctor) checkNodes(cfg *configs.Config) []Result {
	ns, out := nodes(cfg)
	if len(configLines(cfg)) > 0 {
		chips, _ := filepath.Glob(d.System.path("/dev/gpiochip*"))
		if len(chips) == 0 {
			out = append(out, fail("node /dev/gpiochip*", "no GPIO character device: the configuration names GPIO lines", "a kernel with the GPIO character device (CONFIG_GPIO_CDEV), as every Raspberry Pi OS kernel has"))
		}
		for _, c := range chips {
			rel, _ := filepath.Rel(d.System.path("/"), c)
			ns = append(ns, node{path: "/" + rel, key: "GPIO lines", group: "gpio"})
		}
	}
	for _, n := range ns {
		out = append(out, d.checkNode(n))
	}
	return out
}

func (d *Doctor) checkNode(n node) Result {
	check := "node " + n.path
	err := d.System.openRW(n.path)
	switch {
	case err == nil:
		return pass(check, fmt.Sprintf("present, opens for reading and writing (%s)", n.key))
	case errors.Is(err, fs.ErrNotExist):
		return fail(check, fmt.Sprintf("missing (%s)", n.key), nodeFix(n))
	case errors.Is(err, fs.ErrPermission):
		return fail(check, fmt.Sprintf("present but not openable: %v (%s)", err, n.key),
			fmt.Sprintf("podd's user and yours need group %s: the podd package's udev rule (/usr/lib/udev/rules.d/99-podd.rules) gives the node to it (sudo udevadm trigger, or reboot, after installing); join with sudo usermod -aG %s $USER and log in again, or run podctl with sudo", n.group, n.group))
	}
	return fail(check, fmt.Sprintf("cannot be opened: %v (%s)", err, n.key), nodeFix(n))
}

func nodeFix(n node) string {
	switch n.group {
	case "i2c":
		return "enable the bus: dtparam=i2c_arm=on in /boot/firmware/config.txt (raspi-config: Interface Options, I2C) and reboot; or correct " + n.key
	case "spi":
		return "enable the bus: dtparam=spi=on (and dtoverlay=spi1-1cs for SPI1) in /boot/firmware/config.txt and reboot; or correct " + n.key
	}
	return "check the kernel's GPIO driver"
}
