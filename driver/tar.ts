// The tar archives the Engine API's archive endpoints speak (`docker cp`): reading the few small
// files `lease` and `release` take out of a DinD container, and writing the one they put back.
// Plain ustar, regular files and directories only: what these paths hold.

const BLOCK = 512;

/** The regular files of a tar archive, by path (as the archive names them, e.g. "client/ca.pem"). */
export function tarFiles(tar: Buffer): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    for (let offset = 0; offset + BLOCK <= tar.length;) {
        const header = tar.subarray(offset, offset + BLOCK);
        if (header.every((byte) => byte === 0)) break;
        const field = (start: number, length: number) => header.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "");
        const size = parseInt(field(124, 12).trim() || "0", 8);
        const prefix = field(345, 155);
        const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
        const type = field(156, 1);
        if (type === "0" || type === "") files.set(name, Buffer.from(tar.subarray(offset + BLOCK, offset + BLOCK + size)));
        offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
    return files;
}

/** A tar archive of regular files (mode 0600, owned by root). */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
    const blocks: Buffer[] = [];
    for (const [name, content] of Object.entries(files)) {
        if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
        const data = Buffer.from(content);
        const header = Buffer.alloc(BLOCK);
        const put = (text: string, start: number) => header.write(text, start, "utf8");
        put(name, 0);
        put("0000600\0", 100);
        put("0000000\0", 108);
        put("0000000\0", 116);
        put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
        put(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`, 136);
        put("        ", 148);
        put("0", 156);
        put("ustar\0", 257);
        put("00", 263);
        const checksum = header.reduce((sum, byte) => sum + byte, 0);
        put(`${checksum.toString(8).padStart(6, "0")}\0 `, 148);
        blocks.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
    }
    blocks.push(Buffer.alloc(2 * BLOCK));
    return Buffer.concat(blocks);
}
