// Package configs owns the pod's configuration: the shipped files (pod.yaml
// for a Raspberry Pi pod, sim.yaml for the simulator) and their loader.
//
// A configuration is YAML read with viper. Every key can be overridden by an
// environment variable named PODD_ and the key path in upper case with _ for
// . (PODD_UPLINK_BROKER, PODD_SAFETY_SPO2_LOW_PCT). The loader takes the
// environment as an argument and matches these names itself, rather than
// through viper's AutomaticEnv, which reads the process environment and
// ignores variables for keys that have no default; an empty variable counts
// as set. A PODD_ variable that names no key is an error, as is an unknown
// key in the file: a misspelt safety key must never fall back to a default
// silently.
//
// Invalid configuration is reported all at once, one line per problem, each
// naming the key, the value and what is allowed. Safety thresholds are
// checked against the hard bounds of package safety, which no configuration
// can loosen.
//
// Relative paths (storage.path, api.socket, sim.scenario) are kept as written
// and so resolve against the daemon's working directory, as the paths of
// most daemons do, not against the configuration file's directory. The
// shipped sim.yaml is meant to be used from the repository root.
package configs
