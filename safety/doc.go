// Package safety is the pod's local watchdog. Placeholder: the design is written with the watchdog.
package safety
