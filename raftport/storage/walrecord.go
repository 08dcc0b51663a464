package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// A WAL record on disk, all integers little-endian:
//
//	[0:4)   payload length
//	[4:8)   CRC32C over bytes [0:4), [8:24) and the payload
//	[8:16)  index
//	[16:24) term
//	[24:)   payload
//
// The index in every record lets recovery prove the log is dense and lets a
// read prove it got the record it asked for.
const recordHeaderLen = 24

// maxPayload keeps a record length representable in the header.
const maxPayload = 1<<32 - 1

// recLoc is where one record lives in its segment.
type recLoc struct {
	off  int64
	term uint64
	size uint32 // payload bytes
}

func appendRecord(buf []byte, index, term uint64, data []byte) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(data)))
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	buf = binary.LittleEndian.AppendUint64(buf, index)
	buf = binary.LittleEndian.AppendUint64(buf, term)
	buf = append(buf, data...)
	rec := buf[start:]
	binary.LittleEndian.PutUint32(rec[4:8], recordCRC(rec))
	return buf
}

// recordCRC is the checksum of a whole record (header plus payload), with
// the CRC field itself left out.
func recordCRC(rec []byte) uint32 {
	crc := crc32.Update(0, castagnoli, rec[0:4])
	return crc32.Update(crc, castagnoli, rec[8:])
}

// checksumProblem describes a checksum mismatch of rec (a header plus the
// payload its length field announces), or returns "".
func checksumProblem(rec []byte) string {
	want := binary.LittleEndian.Uint32(rec[4:8])
	if got := recordCRC(rec); got != want {
		return fmt.Sprintf("checksum %08x, want %08x", got, want)
	}
	return ""
}

// indexProblem describes a sound record that is not the one expected.
func indexProblem(rec []byte, index uint64) string {
	if got := binary.LittleEndian.Uint64(rec[8:16]); got != index {
		return fmt.Sprintf("record holds index %d, want %d", got, index)
	}
	return ""
}

// segmentScan is what reading one segment file found.
type segmentScan struct {
	recs []recLoc
	end  int64 // end of the last good record
	// torn is why the bytes after end are not a record; "" if the file
	// ends exactly at end.
	torn string
}

// scanSegment checks every record of a segment whose first record is first.
// Damage that reaches the end of the file (a short header, a length running
// past the end, or a bad final record followed by nothing or only zeros,
// which is what a crashed append leaves) is reported as torn; anything else
// is corruption, since a record that is followed by others was complete.
func scanSegment(name string, buf []byte, first uint64) (segmentScan, error) {
	var s segmentScan
	off := 0
	for off < len(buf) {
		index := first + uint64(len(s.recs))
		rest := buf[off:]
		if len(rest) < recordHeaderLen {
			s.torn = fmt.Sprintf("%d bytes, shorter than a record header", len(rest))
			break
		}
		size := binary.LittleEndian.Uint32(rest[0:4])
		if uint64(len(rest)-recordHeaderLen) < uint64(size) {
			s.torn = fmt.Sprintf("record of %d payload bytes runs past the end", size)
			break
		}
		end := recordHeaderLen + int(size)
		if problem := checksumProblem(rest[:end]); problem != "" {
			if allZero(rest[end:]) {
				s.torn = problem
				break
			}
			return s, corruptAt(name, int64(off), problem)
		}
		// A record with a good checksum was written whole, so a wrong
		// index is never a torn write.
		if problem := indexProblem(rest[:end], index); problem != "" {
			return s, corruptAt(name, int64(off), problem)
		}
		s.recs = append(s.recs, recLoc{
			off:  int64(off),
			term: binary.LittleEndian.Uint64(rest[16:24]),
			size: size,
		})
		off += end
	}
	s.end = int64(off)
	return s, nil
}

func corruptAt(name string, off int64, problem string) error {
	return fmt.Errorf("storage: WAL segment %s offset %d: %w: %s", name, off, ErrCorrupt, problem)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Segment files are named by the index of their first record, zero-padded
// so that name order is index order.
const segmentSuffix = ".seg"

func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentSuffix)
}

func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil && first > 0
}
