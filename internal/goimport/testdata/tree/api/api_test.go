package api_test

import "testing"

func TestLookup(t *testing.T) {}
