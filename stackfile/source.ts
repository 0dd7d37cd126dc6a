// The first stage: bytes to text. A stack file is UTF-8 (a byte-order mark is dropped, so columns
// count from the first real character); anything else is named and refused with its position.
import { isUtf8 } from "node:buffer";

/** Larger files are refused before parsing: 2,000 hosts take about 5 MB. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** Characters no stack file needs and that can hide text: C0/C1 controls (tab and line ends aside), DEL, bidi overrides. */
const CONTROL_IN_SOURCE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

type Decoded = { text: string } | { problem: string; line: number; column: number };

export function decodeSource(input: string | Uint8Array): Decoded {
    if (typeof input !== "string") {
        if (input.length > MAX_FILE_BYTES) {
            return { problem: `the file is ${input.length} bytes long: stack files are refused above ${MAX_FILE_BYTES} bytes`, line: 1, column: 1 };
        }
        const unicode = otherEncoding(input);
        if (unicode) {
            return { problem: `the file is ${unicode}: save it as UTF-8`, line: 1, column: 1 };
        }
        if (!isUtf8(input)) return notUtf8(input);
    }
    const text = typeof input === "string" ? input : Buffer.from(input.buffer, input.byteOffset, input.length).toString("utf8");
    const stripped = text.startsWith("\ufeff") ? text.slice(1) : text;
    const control = CONTROL_IN_SOURCE.exec(stripped);
    if (control) {
        const { line, column } = lineAndColumn(stripped, control.index);
        const code = `U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
        return {
            problem: `control character ${code}: a stack file holds printable text only (write it escaped in a double-quoted string if a value needs it)`,
            line, column,
        };
    }
    return { text: stripped };
}

/** UTF-16 and UTF-32, by their byte-order mark or by the zero bytes ASCII text has in them. */
function otherEncoding(bytes: Uint8Array): string | undefined {
    const starts = (...prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
    if (starts(0xff, 0xfe, 0, 0)) return "UTF-32 (little-endian byte-order mark FF FE 00 00)";
    if (starts(0, 0, 0xfe, 0xff)) return "UTF-32 (big-endian byte-order mark 00 00 FE FF)";
    if (starts(0xff, 0xfe)) return "UTF-16 (little-endian byte-order mark FF FE)";
    if (starts(0xfe, 0xff)) return "UTF-16 (big-endian byte-order mark FE FF)";
    if (bytes.length >= 4 && bytes[0] !== 0 && bytes[1] === 0 && bytes[2] !== 0 && bytes[3] === 0) return "UTF-16 (little-endian, without a byte-order mark)";
    if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] !== 0 && bytes[2] === 0 && bytes[3] !== 0) return "UTF-16 (big-endian, without a byte-order mark)";
    return undefined;
}

function notUtf8(bytes: Uint8Array): Decoded {
    const start = firstInvalidUtf8(bytes);
    const before = Buffer.from(bytes.buffer, bytes.byteOffset, start).toString("utf8").replace(/^\ufeff/, "");
    const { line, column } = lineAndColumn(before, before.length);
    const hex = bytes[start].toString(16).toUpperCase().padStart(2, "0");
    return { problem: `byte 0x${hex} is not UTF-8: save the file as UTF-8`, line, column };
}

/** The offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length;) {
        const b = bytes[i];
        const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (length === 0 || (length > 1 && !isUtf8(bytes.subarray(i, i + length)))) return i;
        i += length;
    }
    return bytes.length - 1;
}

function lineAndColumn(text: string, index: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) {
        line++;
        lineStart = i + 1;
    }
    return { line, column: index - lineStart + 1 };
}
