// Peer: a Go net/http server verifying JWT-SVIDs with Debian's
// golang-jwt (github.com/golang-jwt/jwt, v4 API), with the same two
// endpoints, audience, exp and SPIFFE ID checks as svidgate:
//
//	POST /v1/jwt-svid/verify  {"token": "..."}  ->  200 {"valid": true|false, ...}
//	GET  /v1/auth  with Authorization: Bearer   ->  200, or 401 (empty body)
//
// Usage: go-jwt --bundle PUBLIC_PEM --alg ES256|RS256|PS256 [--port N]
// It prints "listening port=N" once it accepts connections. Built in
// GOPATH mode against /usr/share/gocode by bench/compare, so no module is
// downloaded.
package main

import (
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/golang-jwt/jwt"
)

const (
	audience     = "bench"
	spiffePrefix = "spiffe://bench.example/"
	// svidgate's limit on a request body.
	maxBody = 1 << 20
)

type verifier struct {
	key    crypto.PublicKey
	parser *jwt.Parser
}

func loadKey(path, alg string) (crypto.PublicKey, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if alg == "ES256" {
		return jwt.ParseECPublicKeyFromPEM(pem)
	}
	return jwt.ParseRSAPublicKeyFromPEM(pem)
}

// verify returns the token's SPIFFE ID, or an error naming the failed check.
func (v *verifier) verify(token string) (string, error) {
	claims := &jwt.RegisteredClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(*jwt.Token) (interface{}, error) {
		return v.key, nil
	})
	if err != nil {
		return "", err
	}
	// v4 checks exp in Valid() but leaves the audience to the caller.
	if !claims.VerifyAudience(audience, true) {
		return "", errors.New("audience_mismatch")
	}
	if !strings.HasPrefix(claims.Subject, spiffePrefix) {
		return "", errors.New("invalid_spiffe_id")
	}
	return claims.Subject, nil
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (v *verifier) handleVerify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"error":"method_not_allowed"}`))
		return
	}
	var request struct {
		Token *string `json:"token"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody || json.Unmarshal(body, &request) != nil || request.Token == nil {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"bad_request"}`))
		return
	}
	var response []byte
	if id, err := v.verify(*request.Token); err != nil {
		response, _ = json.Marshal(map[string]interface{}{"valid": false, "error": err.Error()})
	} else {
		response, _ = json.Marshal(map[string]interface{}{"valid": true, "spiffe_id": id})
	}
	writeJSON(w, http.StatusOK, response)
}

func (v *verifier) handleAuth(w http.ResponseWriter, r *http.Request) {
	header := r.Header.Get("Authorization")
	if !strings.HasPrefix(header, "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, nil)
		return
	}
	if _, err := v.verify(header[len("Bearer "):]); err != nil {
		writeJSON(w, http.StatusUnauthorized, nil)
		return
	}
	writeJSON(w, http.StatusOK, nil)
}

func main() {
	bundle := flag.String("bundle", "", "public key of the signer, PEM")
	alg := flag.String("alg", "", "JWS algorithm: ES256, RS256 or PS256")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks a free one)")
	flag.Parse()
	if *bundle == "" || (*alg != "ES256" && *alg != "RS256" && *alg != "PS256") {
		fmt.Fprintln(os.Stderr, "usage: go-jwt --bundle PUBLIC_PEM --alg ES256|RS256|PS256 [--port N]")
		os.Exit(2)
	}
	key, err := loadKey(*bundle, *alg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-jwt: cannot read the key in %s: %v\n", *bundle, err)
		os.Exit(2)
	}
	v := &verifier{key: key, parser: jwt.NewParser(jwt.WithValidMethods([]string{*alg}))}

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-jwt: cannot listen: %v\n", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/jwt-svid/verify", v.handleVerify)
	mux.HandleFunc("/v1/auth", v.handleAuth)
	fmt.Printf("listening port=%d\n", listener.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	fmt.Fprintln(os.Stderr, http.Serve(listener, mux))
	os.Exit(1)
}
