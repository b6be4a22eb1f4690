// Command spot sends one request with http.Client's defaults (redirects followed, the Transport's
// gzip) and prints the final status and URL: go run spot.go METHOD URL [NAME:VALUE...]. A method
// other than GET and HEAD carries the body "payload" (Content-Type: text/plain unless given).
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	method, target := os.Args[1], os.Args[2]
	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		body = strings.NewReader("payload")
	}
	request, err := http.NewRequest(method, target, body)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if body != nil {
		request.Header.Set("Content-Type", "text/plain")
	}
	for _, field := range os.Args[3:] {
		name, value, _ := strings.Cut(field, ":")
		request.Header.Set(name, strings.TrimSpace(value))
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	defer response.Body.Close()
	content, err := io.ReadAll(response.Body)
	fmt.Printf("status %d url %s body %q err %v\n", response.StatusCode, response.Request.URL, content, err)
}
