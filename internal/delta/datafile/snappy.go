package datafile

import (
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// arrow-go compresses Snappy pages with klauspost's "better" Snappy mode,
// which costs about 2.5 times the CPU of standard Snappy for output about 3%
// smaller; writing event data it took two thirds of the writer's time. The
// codec registered here encodes with standard-speed Snappy (s2.EncodeSnappy:
// the speed and ratio of the reference encoder that Spark, DuckDB and Arrow
// C++ use) and decodes exactly as before. The output is ordinary Snappy
// either way. arrow-go keeps codecs in one registry per process, so this
// applies to every Parquet file the process writes with Snappy, which is
// the point: Lakeport writes Parquet through this package and
// internal/format alike.
func init() { compress.RegisterCodec(compress.Codecs.Snappy, standardSnappy{}) }

type standardSnappy struct{}

func (standardSnappy) Encode(dst, src []byte) []byte { return s2.EncodeSnappy(dst, src) }

func (standardSnappy) EncodeLevel(dst, src []byte, _ int) []byte { return s2.EncodeSnappy(dst, src) }

func (standardSnappy) Decode(dst, src []byte) []byte {
	out, err := snappy.Decode(dst, src)
	if err != nil {
		panic(err) // as arrow-go's codec does; readers use DecodeWithError
	}
	return out
}

func (standardSnappy) DecodeWithError(dst, src []byte) ([]byte, error) {
	return snappy.Decode(dst, src)
}

func (standardSnappy) CompressBound(n int64) int64 { return int64(snappy.MaxEncodedLen(int(n))) }

func (standardSnappy) NewReader(r io.Reader) io.ReadCloser { return io.NopCloser(snappy.NewReader(r)) }

func (standardSnappy) NewWriter(w io.Writer) io.WriteCloser { return snappy.NewBufferedWriter(w) }

func (s standardSnappy) NewWriterLevel(w io.Writer, _ int) (io.WriteCloser, error) {
	return s.NewWriter(w), nil
}
