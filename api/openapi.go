package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes every route of routes.go; TestOpenAPIDescribesEveryRoute
// keeps the two in step.
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI)
}
