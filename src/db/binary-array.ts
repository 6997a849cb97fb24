const TEXT_OID = 25;

/**
 * A text[] parameter in PostgreSQL's binary format (what array_recv reads), as a Buffer, which
 * node-postgres sends as is. Migration statements go to the history this way: a text parameter
 * would be escaped into a second, larger string first (and JSON a third), which for a 100 MB data
 * migration cost over a gigabyte of client memory. Here the statements are written once, as UTF-8.
 */
export function binaryTextArray(values: readonly string[]): Buffer {
  const header = values.length === 0 ? 12 : 20;
  let size = header;
  for (const value of values) size += 4 + Buffer.byteLength(value, 'utf8');
  const buffer = Buffer.allocUnsafe(size);
  buffer.writeInt32BE(values.length === 0 ? 0 : 1, 0); // dimensions
  buffer.writeInt32BE(0, 4); // no NULL elements
  buffer.writeUInt32BE(TEXT_OID, 8);
  if (values.length > 0) {
    buffer.writeInt32BE(values.length, 12);
    buffer.writeInt32BE(1, 16); // lower bound
  }
  let offset = header;
  for (const value of values) {
    const length = buffer.write(value, offset + 4, 'utf8');
    buffer.writeInt32BE(length, offset);
    offset += 4 + length;
  }
  return buffer;
}
