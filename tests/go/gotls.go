// SPDX-License-Identifier: BSD-2-Clause

// gotls: a Go HTTPS server and client over crypto/tls alone, for tlsrec's Go tests (unit.gobin
// reads its builds, e2e.secrets_go records them). Each side writes its own key log with
// tls.Config.KeyLogWriter when given -keylog: the ground truth.
//
//	gotls serve -addr 127.0.0.1:8443 [-keylog FILE] [-ready FILE] [-detach DIR]
//	gotls get -url https://127.0.0.1:8443/x -n 3 [-v 12|13] [-cipher NAME] [-h2] [-newconn] [-keylog FILE] [-wait FILE]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"syscall"
	"time"
)

func keylog(path string) io.Writer {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotls:", err)
		os.Exit(1)
	}
	return f
}

func certificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gotls"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8443", "listen address")
	kl := fs.String("keylog", "", "key log file")
	ready := fs.String("ready", "", "file created once listening")
	detach := fs.String("detach", "", "unmount DIR first (a container's old root after pivot_root)")
	fs.Parse(args)
	if *detach != "" {
		if err := syscall.Unmount(*detach, syscall.MNT_DETACH); err != nil {
			fmt.Fprintln(os.Stderr, "gotls: unmount", *detach+":", err)
			os.Exit(1)
		}
	}
	conf := &tls.Config{Certificates: []tls.Certificate{certificate()}, KeyLogWriter: keylog(*kl),
		NextProtos: []string{"h2", "http/1.1"}}
	ln, err := tls.Listen("tcp", *addr, conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotls:", err)
		os.Exit(1)
	}
	if *ready != "" {
		os.WriteFile(*ready, []byte("ready\n"), 0600)
	}
	srv := &http.Server{TLSConfig: conf, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s over %s\n", r.URL.Path, r.Proto)
	})}
	fmt.Fprintln(os.Stderr, "gotls:", srv.Serve(ln))
	os.Exit(1)
}

var ciphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

func get(args []string) {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	url := fs.String("url", "https://127.0.0.1:8443/", "URL")
	n := fs.Int("n", 1, "requests")
	v := fs.Int("v", 13, "TLS version: 12 or 13")
	cipher := fs.String("cipher", "", "TLS 1.2 cipher suite (OpenSSL name)")
	h2 := fs.Bool("h2", false, "HTTP/2")
	newconn := fs.Bool("newconn", false, "a new connection (handshake) per request")
	resume := fs.Bool("resume", false, "resume the first connection's session in the next ones")
	kl := fs.String("keylog", "", "key log file")
	wait := fs.String("wait", "", "connect once this file exists")
	fs.Parse(args)
	for *wait != "" {
		if _, err := os.Stat(*wait); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	conf := &tls.Config{InsecureSkipVerify: true, KeyLogWriter: keylog(*kl),
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	if *v == 12 {
		conf.MaxVersion = tls.VersionTLS12
	}
	if *resume {
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	if *cipher != "" {
		id, ok := ciphers[*cipher]
		if !ok {
			fmt.Fprintln(os.Stderr, "gotls: unknown cipher", *cipher)
			os.Exit(2)
		}
		conf.CipherSuites = []uint16{id}
	}
	tr := &http.Transport{TLSClientConfig: conf, DisableKeepAlives: *newconn, ForceAttemptHTTP2: *h2}
	if !*h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < *n; i++ {
		resp, err := client.Get(fmt.Sprintf("%s%d", *url, i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "gotls:", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gotls serve|get [options]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "get":
		get(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: gotls serve|get [options]")
		os.Exit(2)
	}
}
