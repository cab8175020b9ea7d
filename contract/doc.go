// Package contract holds the pod's published MQTT contract, v1: the AsyncAPI
// 3.0 document asyncapi.yaml and the JSON Schemas (draft 2020-12) of every
// payload under schemas/. It has no code; its tests check that what the pod
// emits validates against the schemas, and scripts/asyncapi-validate.sh
// checks the document with the AsyncAPI project's own parser.
package contract
