//go:build race

package ratelog

const raceEnabled = true
