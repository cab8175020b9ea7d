//go:build !race

package ratelog

const raceEnabled = false
