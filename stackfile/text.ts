// How values, keys and key paths from a file appear in messages: short, escaped, with
// look-alike letters pointed out.

export type KeyPath = (string | number)[];

const MAX_SHOWN = 60;
const MAX_SEGMENT = 40;
const MAX_PATH_SEGMENTS = 8;

/** A JSON-quoted, escaped and, past 60 characters, shortened copy of `text`. */
export function quote(text: string): string {
    const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
    return `${JSON.stringify(shown)}${text.length > MAX_SHOWN ? ` (${text.length} characters)` : ""}`;
}

/** A key written bare in a path: anything else is quoted, so that `registry.internal:5000` reads as one key. */
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * hosts.builder.tcp.port, clients.agent, ports[0], registryCAs["registry.internal:5000"]; long keys
 * and deep paths shortened.
 */
export function formatPath(path: KeyPath): string {
    if (path.length === 0) return "(top level)";
    const segment = (s: string | number, i: number) => {
        if (typeof s === "number") return `[${s}]`;
        if (BARE_KEY.test(s)) {
            const shown = s.length > MAX_SEGMENT ? `${s.slice(0, MAX_SEGMENT - 3)}...` : s;
            return i === 0 ? shown : `.${shown}`;
        }
        const text = JSON.stringify(s.length > MAX_SEGMENT ? `${s.slice(0, MAX_SEGMENT - 3)}...` : s);
        return `[${text}]`;
    };
    if (path.length <= MAX_PATH_SEGMENTS) return path.map(segment).join("");
    const head = path.slice(0, 4).map(segment).join("");
    const tail = path.slice(-2).map((s, i) => segment(s, i + 1)).join("");
    return `${head}...(${path.length - 6} levels)${tail}`;
}

/** "nothing", "a list", "string \"x\"", "the special float .nan". */
export function describe(value: unknown): string {
    if (value === null || value === undefined) return "nothing";
    if (Array.isArray(value)) return "a list";
    if (value instanceof Uint8Array) return "binary data";
    if (typeof value === "object") return "a map";
    if (typeof value === "number" && !Number.isFinite(value)) {
        return `the special float ${Number.isNaN(value) ? ".nan" : value > 0 ? ".inf" : "-.inf"}`;
    }
    return typeof value === "string" ? `string ${quote(value)}` : `${typeof value} ${String(value)}`;
}

// Letters that read like ASCII ones (Unicode confusables for Latin letters, the ones fonts render alike).
const CONFUSABLES: Record<string, string> = {
    "а": "a", "в": "b", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ɡ": "g", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "к": "k", "м": "m", "н": "h", "т": "t", "ь": "b",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "І": "I", "Ј": "J", "Ѕ": "S", "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X", "ı": "i", "ℓ": "l",
};
const INVISIBLE = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

/**
 * For a key with characters outside ASCII: which one, and the ASCII key it imitates when it reads
 * like one of `known`. Empty for plain ASCII.
 */
export function nonAsciiNote(key: string, known: string[] = []): string {
    const first = [...key].find((c) => c.codePointAt(0)! > 0x7e || c.codePointAt(0)! < 0x20);
    if (first === undefined) return "";
    const code = `U+${first.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    const skeleton = [...key.normalize("NFKC").replace(INVISIBLE, "")].map((c) => CONFUSABLES[c] ?? c).join("");
    const imitated = known.find((k) => k === skeleton || k.toLowerCase() === skeleton.toLowerCase());
    const shown = /\p{L}|\p{N}|\p{P}|\p{S}/u.test(first) ? `"${first}" (${code})` : code;
    return imitated
        ? ` (it looks like "${imitated}" but contains the non-ASCII character ${shown})`
        : ` (it contains the non-ASCII character ${shown})`;
}
