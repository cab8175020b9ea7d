package doctor

import (
	"strings"
	"testing"
)

func TestDeviceNodesOfBusNames(t *testing.T) {
	for _, c := range []struct {
		name, i2c, spi string
	}{
		{"1", "/dev/i2c-1", "/dev/spidev1.0"},
		{"I2C1", "/dev/i2c-1", ""},
		{"/dev/i2c-11", "/dev/i2c-11", ""},
		{"SPI0.1", "", "/dev/spidev0.1"},
		{"/dev/spidev1.0", "", "/dev/spidev1.0"},
		{"spi1.2", "", "/dev/spidev1.2"},
		{"", "", ""},
		{"I2C", "", ""},
		{"SPI0.", "", ""},
		{"+1", "", ""},
		{"SPI+1.0", "", ""},
		{"bus1", "", ""},
	} {
		i, iok := I2CNode(c.name)
		s, sok := SPINode(c.name)
		if i != c.i2c || iok != (c.i2c != "") || s != c.spi || sok != (c.spi != "") {
			t.Errorf("%q: I2CNode %q %v, SPINode %q %v; want %q, %q", c.name, i, iok, s, sok, c.i2c, c.spi)
		}
	}
}

func FuzzDeviceNodes(f *testing.F) {
	for _, s := range []string{"1", "I2C1", "/dev/i2c-1", "SPI0.0", "/dev/spidev0.1", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if n, ok := I2CNode(name); ok != (n != "") || ok && (!strings.HasPrefix(n, "/dev/i2c-") || strings.Count(n, "/") != 2 || strings.Contains(n, ".")) {
			t.Fatalf("I2CNode(%q) = %q, %v", name, n, ok)
		}
		if n, ok := SPINode(name); ok != (n != "") || ok && (!strings.HasPrefix(n, "/dev/spidev") || strings.Count(n, ".") != 1 || strings.Count(n, "/") != 2) {
			t.Fatalf("SPINode(%q) = %q, %v", name, n, ok)
		}
	})
}
