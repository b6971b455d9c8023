/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Google Secret Manager keeps with each version's
 * payload (`payload.dataCrc32c`) so that a client can tell a payload corrupted on the way from the one stored.
 * node:zlib's crc32 is the other CRC-32 (IEEE 802.3), so this is its own table. Check value: "123456789" → 0xE3069283.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32C of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
