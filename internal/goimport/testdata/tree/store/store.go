package store

import "strings"

// Store keeps values by key.
type Store struct {
	data map[string]string
	log  Logger
}

// Logger is called on every write.
type Logger interface {
	Logf(format string, args ...any)
}

func New() *Store {
	return &Store{data: map[string]string{}}
}

func (s *Store) Put(key, value string) {
	s.data[normalize(key)] = value
	s.note("put")
}

func (s *Store) Get(key string) string {
	return s.data[normalize(key)]
}

func (s *Store) note(what string) {
	if s.log != nil {
		s.log.Logf("%s", what)
	}
}

func normalize(key string) string {
	return strings.ToLower(key)
}

type Set[T comparable] struct {
	items map[T]bool
}

func (s *Set[T]) Add(v T) {
	s.items[v] = true
}

func (s Set[T]) Len() int { return len(s.items) }

// Keys calls through a method value, which is not followed, and inside a
// closure, which counts for Keys.
func (s *Store) Keys() []string {
	var out []string
	each := func(f func(string)) {
		for k := range s.data {
			f(k)
		}
	}
	each(func(k string) { out = append(out, normalize(k)) })
	apply(s.Get)
	return out
}

func apply(f func(string) string) { _ = f("x") }

func init() { _ = New() }

func init() { Reset(New()) }

// Reset calls Put on a variable, which the file's only Put resolves.
func Reset(t *Store) {
	t.Put("", "")
}
