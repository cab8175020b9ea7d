package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// keptBoots is how many earlier boots the boot log remembers: enough for a
// pod that restarted several times before it could connect.
const keptBoots = 16

var bootID = regexp.MustCompile(`^[0-9a-z]{1,32}$`)

// recordBoot adds boot to the boot log at path (one boot id a line, newest
// last, at most keptBoots) and returns the boots it held before: the
// uplink's PreviousBoot, so that the retained "online" status an earlier run
// of this pod left behind (a power cut leaves it until the broker's will
// fires) is not taken for another pod with this id. The file is replaced
// atomically. On an error, the boots read so far are still returned: the
// uplink then waits for the old status to go offline before it publishes.
func recordBoot(path, boot string) (previous map[string]bool, err error) {
	previous = map[string]bool{}
	var order []string
	if b, rerr := os.ReadFile(path); rerr == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if id := sc.Text(); bootID.MatchString(id) && !previous[id] {
				previous[id] = true
				order = append(order, id)
			}
		}
	} else if !os.IsNotExist(rerr) {
		err = fmt.Errorf("boot log: %w", rerr)
	}
	order = append(order, boot)
	if len(order) > keptBoots {
		order = order[len(order)-keptBoots:]
	}
	var buf bytes.Buffer
	for _, id := range order {
		buf.WriteString(id + "\n")
	}
	if werr := writeAtomic(path, buf.Bytes()); werr != nil && err == nil {
		err = fmt.Errorf("boot log: %w", werr)
	}
	return previous, err
}

// writeAtomic replaces path with data: a temporary file beside it, synced,
// renamed over it, and the directory synced.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
