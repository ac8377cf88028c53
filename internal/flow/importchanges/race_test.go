//go:build race

package importchanges_test

const raceEnabled = true
