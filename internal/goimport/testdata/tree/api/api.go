package api

import (
	"example.com/tree/store"
)

type Server struct {
	st *store.Store
}

func NewServer() *Server {
	return &Server{st: store.New()}
}

// Lookup reaches Get through a field: only the type checker sees it.
func (srv *Server) Lookup(key string) string {
	return srv.st.Get(key)
}

func (srv *Server) Len() int {
	var set store.Set[string]
	set.Add("x")
	return set.Len()
}
