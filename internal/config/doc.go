// Package config owns the YAML configuration of one pixcdn process: its schema (the structs the
// edge reads), strict decoding that keeps the line of every node, defaults, expansion of secrets
// from the environment, and validation that reports every problem at once as FILE:LINE: FIELD: msg.
//
// A Config returned by Load or Parse has all defaults applied, has validated, and must be treated
// as read-only: it is shared by every request goroutine, and a reload builds a new one instead of
// mutating the old.
package config
