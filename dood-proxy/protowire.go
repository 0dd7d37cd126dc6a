package main

import (
	"encoding/binary"
	"errors"
)

// The few parts of Protocol Buffers' wire format the builder front needs to read a BuildKit
// request and to append a field to it. A message is a sequence of (field number, wire type,
// value); a field that appears again is merged: for a repeated or map field, appending one more
// entry adds it (a map keeps the last entry of a key), which is how a label is added without
// re-encoding the message.

const (
	wireVarint = 0
	wireI64    = 1
	wireBytes  = 2
	wireI32    = 5
)

var errMalformed = errors.New("malformed protobuf message")

// protoField is one field of a message as it appears on the wire.
type protoField struct {
	number int
	wire   int
	varint uint64
	bytes  []byte // the value of a length-delimited field
}

func readVarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, errMalformed
	}
	return v, n, nil
}

// protoFields splits a message into its fields; a message it cannot walk to its end is an error
// (group wire types, truncated values), since the daemon would read it differently.
func protoFields(msg []byte) ([]protoField, error) {
	var fields []protoField
	for len(msg) > 0 {
		key, n, err := readVarint(msg)
		if err != nil {
			return nil, err
		}
		msg = msg[n:]
		f := protoField{number: int(key >> 3), wire: int(key & 7)}
		if f.number <= 0 || key>>3 > 1<<29-1 {
			return nil, errMalformed
		}
		switch f.wire {
		case wireVarint:
			if f.varint, n, err = readVarint(msg); err != nil {
				return nil, err
			}
		case wireI64:
			n = 8
		case wireI32:
			n = 4
		case wireBytes:
			length, m, err := readVarint(msg)
			if err != nil || length > uint64(len(msg)-m) {
				return nil, errMalformed
			}
			f.bytes = msg[m : m+int(length)]
			n = m + int(length)
		default:
			return nil, errMalformed
		}
		if n > len(msg) {
			return nil, errMalformed
		}
		msg = msg[n:]
		fields = append(fields, f)
	}
	return fields, nil
}

// protoString reads a string field's value; a field of another wire type is an error.
func protoString(f protoField) (string, error) {
	if f.wire != wireBytes {
		return "", errMalformed
	}
	return string(f.bytes), nil
}

// protoMapEntry reads an entry of a map<string, string> (key 1, value 2).
func protoMapEntry(f protoField) (string, string, error) {
	if f.wire != wireBytes {
		return "", "", errMalformed
	}
	inner, err := protoFields(f.bytes)
	if err != nil {
		return "", "", err
	}
	var key, value string
	for _, e := range inner {
		s, err := protoString(e)
		if err != nil {
			return "", "", err
		}
		switch e.number {
		case 1:
			key = s
		case 2:
			value = s
		}
	}
	return key, value, nil
}

func appendBytesField(b []byte, number int, value []byte) []byte {
	b = binary.AppendUvarint(b, uint64(number)<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// appendMapEntry appends one entry of a map<string, string> field; being last, it wins.
func appendMapEntry(msg []byte, number int, key, value string) []byte {
	entry := appendBytesField(nil, 1, []byte(key))
	entry = appendBytesField(entry, 2, []byte(value))
	return appendBytesField(msg, number, entry)
}
