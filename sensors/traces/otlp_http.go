package traces

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TracesPath is where OTLP/HTTP clients post spans.
const TracesPath = "/v1/traces"

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

type otlpHTTPReceiver struct {
	collector *Collector
	listener  net.Listener
	server    *http.Server
}

func (c *Collector) bindOTLPHTTP(address string) (receiverServer, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("OTLP HTTP receiver: listen on %s: %w", address, err)
	}
	r := &otlpHTTPReceiver{collector: c, listener: l}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TracesPath, r.handle)
	r.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return r, nil
}

func (r *otlpHTTPReceiver) name() string   { return ReceiverOTLPHTTP }
func (r *otlpHTTPReceiver) addr() net.Addr { return r.listener.Addr() }

func (r *otlpHTTPReceiver) serve() error {
	if err := r.server.Serve(r.listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (r *otlpHTTPReceiver) stop(ctx context.Context) {
	if err := r.server.Shutdown(ctx); err != nil {
		r.server.Close()
	}
}

// handle decodes one export. Errors the client can fix answer 400 (or
// 415 for an encoding it did not ask about) with a Status body, as the
// OTLP/HTTP spec asks; a client must not retry those.
func (r *otlpHTTPReceiver) handle(w http.ResponseWriter, req *http.Request) {
	encoding, err := requestEncoding(req.Header.Get("Content-Type"))
	if err != nil {
		r.collector.decodeError(ReceiverOTLPHTTP, err)
		writeStatus(w, contentTypeProto, http.StatusUnsupportedMediaType, err)
		return
	}
	body, err := readBody(w, req)
	if err != nil {
		r.collector.decodeError(ReceiverOTLPHTTP, err)
		writeStatus(w, encoding, http.StatusBadRequest, err)
		return
	}
	export, err := decodeOTLPHTTP(encoding, body)
	if err != nil {
		r.collector.decodeError(ReceiverOTLPHTTP, err)
		writeStatus(w, encoding, http.StatusBadRequest, err)
		return
	}
	writeMessage(w, encoding, http.StatusOK, r.collector.exportOTLP(ReceiverOTLPHTTP, export))
}

func requestEncoding(contentType string) (string, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if mediaType != contentTypeProto && mediaType != contentTypeJSON {
		return "", fmt.Errorf("content type %q: want %s or %s", mediaType, contentTypeProto, contentTypeJSON)
	}
	return mediaType, nil
}

func decodeOTLPHTTP(encoding string, body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	if encoding == contentTypeJSON {
		return decodeOTLPJSON(body)
	}
	return decodeOTLPProto(body)
}

// readBody reads at most maxOTLPRequest bytes, after gunzipping when the
// client compressed: the bound holds for what is decoded, not only for
// what crossed the wire.
func readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxOTLPRequest)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("gunzip request: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("content encoding %q: want gzip or none", enc)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(body, maxOTLPRequest+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if n > maxOTLPRequest {
		return nil, fmt.Errorf("request body over %d bytes", maxOTLPRequest)
	}
	return buf.Bytes(), nil
}

func writeStatus(w http.ResponseWriter, encoding string, code int, err error) {
	writeMessage(w, encoding, code, &spb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()})
}

func writeMessage(w http.ResponseWriter, encoding string, code int, m proto.Message) {
	var body []byte
	var err error
	if encoding == contentTypeJSON {
		body, err = protojson.Marshal(m)
	} else {
		body, err = proto.Marshal(m)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", encoding)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
