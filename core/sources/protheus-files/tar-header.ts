/**
 * Tar headers for the archives TOTVS Dump writes, byte for byte as tar-stream 3 wrote them
 * before (so archive-reader, GNU tar and older sets see exactly the same format): a ustar
 * header, with a long name split into prefix/name; when the name cannot be split, or is not
 * ASCII, or the link target is longer than 100 bytes, a pax extended header ('x', named
 * "PaxHeader", holding `path` and `linkpath`) comes first. Owners as GNU tar writes them in
 * posix format: user and group names in the ustar fields, and pax `uid`/`gid` records for ids
 * the 6-digit fields cannot hold, `uname`/`gname` for names longer than 31 bytes or not ASCII.
 */
export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarHeaderFields {
	/** Forward-slash path inside the archive, without a trailing slash. */
	name: string;
	type: TarEntryType;
	/** Bytes of content that follow (files only; ignored for folders and links). */
	size: number;
	/** Permission bits (0o7777); 0 is written as 0o644 for files and 0o755 for folders, as tar-stream did. */
	mode: number;
	mtimeMs: number;
	uid?: number;
	gid?: number;
	/** Owner and group names on the backed-up machine; empty or unset when unknown. */
	uname?: string;
	gname?: string;
	linkname?: string | null;
}

export const TAR_BLOCK = 512;
/** Two zero blocks end the archive. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK);

/** Zero bytes after `size` bytes of content, up to the next 512-byte block. */
export const tarPadding = (size: number) => (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;

const TYPEFLAG: Record<TarEntryType | 'pax-header', number> = { file: 0, symlink: 2, directory: 5, 'pax-header': 72 };

interface Fields {
	name: string;
	typeflag: number;
	size: number;
	mode: number;
	mtimeSeconds: number;
	uid: number;
	gid: number;
	uname: string;
	gname: string;
	linkname: string;
}

/** The largest id the 6 octal digits of the ustar uid/gid fields hold (all sevens means "did not fit"). */
const MAX_USTAR_ID = 0o777777 - 1;
/** ustar's uname/gname fields: 32 bytes, NUL-terminated. */
const USTAR_NAME_BYTES = 31;
const fitsUstarName = (name: string) => Buffer.byteLength(name) === name.length && name.length <= USTAR_NAME_BYTES;

/** The header block(s) of one entry: 512 bytes, or a pax header, its records and then the entry's 512. */
export function encodeTarHeader(header: TarHeaderFields): Buffer {
	const type = header.type;
	const fields: Fields = {
		name: header.name,
		typeflag: TYPEFLAG[type],
		size: type === 'file' ? header.size : 0,
		mode: header.mode || (type === 'directory' ? 0o755 : 0o644),
		mtimeSeconds: (Math.floor(header.mtimeMs) / 1000) | 0,
		uid: header.uid || 0,
		gid: header.gid || 0,
		uname: header.uname ?? '',
		gname: header.gname ?? '',
		linkname: header.linkname ?? '',
	};
	let owners = '';
	if (fields.uid > MAX_USTAR_ID) owners += paxRecord('uid', String(fields.uid));
	if (fields.gid > MAX_USTAR_ID) owners += paxRecord('gid', String(fields.gid));
	if (!fitsUstarName(fields.uname)) owners += paxRecord('uname', fields.uname);
	if (!fitsUstarName(fields.gname)) owners += paxRecord('gname', fields.gname);
	if (!fitsUstarName(fields.uname)) fields.uname = ''; // the pax record holds it
	if (!fitsUstarName(fields.gname)) fields.gname = '';
	const ustar = encodeUstar(fields);
	if (ustar && !owners) return ustar;
	let records = '';
	if (!ustar && fields.name) records += paxRecord('path', fields.name);
	if (!ustar && fields.linkname) records += paxRecord('linkpath', fields.linkname);
	const pax = Buffer.from(records + owners);
	// The name and link are in the pax records only when ustar cannot hold them (then as tar-stream wrote them).
	const entry = ustar ? fields : { ...fields, name: 'PaxHeader', linkname: fields.linkname ? 'PaxHeader' : '' };
	return Buffer.concat([
		encodeUstar({
			...entry,
			name: 'PaxHeader',
			linkname: entry.linkname ? 'PaxHeader' : '',
			typeflag: TYPEFLAG['pax-header'],
			size: pax.length,
		})!,
		pax,
		Buffer.alloc(tarPadding(pax.length)),
		ustar ?? encodeUstar(entry)!,
	]);
}

/** `<length> <key>=<value>\n`, where length counts its own digits. */
function paxRecord(key: string, value: string): string {
	const text = ` ${key}=${value}\n`;
	const length = Buffer.byteLength(text);
	let digits = Math.floor(Math.log(length) / Math.log(10)) + 1;
	if (length + digits >= Math.pow(10, digits)) digits++;
	return `${length + digits}${text}`;
}

/** One ustar block, or null when the name or link does not fit ustar's fields (then pax is needed). */
function encodeUstar(fields: Fields): Buffer | null {
	let name = fields.name; // folders without a trailing slash, as tar-stream wrote them
	if (Buffer.byteLength(name) !== name.length) return null; // not ASCII
	let prefix = '';
	while (name.length > 100) {
		const slash = name.indexOf('/');
		if (slash === -1) return null;
		prefix += prefix ? `/${name.slice(0, slash)}` : name.slice(0, slash);
		name = name.slice(slash + 1);
	}
	if (prefix.length > 155) return null;
	if (fields.linkname && Buffer.byteLength(fields.linkname) > 100) return null;

	const block = Buffer.alloc(TAR_BLOCK);
	block.write(name, 0, 'latin1');
	block.write(octal(fields.mode & 0o7777, 6), 100, 'latin1');
	block.write(octal(fields.uid, 6), 108, 'latin1');
	block.write(octal(fields.gid, 6), 116, 'latin1');
	writeSize(block, fields.size);
	block.write(octal(fields.mtimeSeconds, 11), 136, 'latin1');
	block[156] = 0x30 + fields.typeflag;
	if (fields.linkname) block.write(fields.linkname, 157, 'utf8');
	block.write('ustar\u000000', 257, 'latin1');
	if (fields.uname) block.write(fields.uname, 265, 'latin1');
	if (fields.gname) block.write(fields.gname, 297, 'latin1');
	block.write(octal(0, 6), 329, 'latin1'); // devmajor
	block.write(octal(0, 6), 337, 'latin1'); // devminor
	if (prefix) block.write(prefix, 345, 'latin1');
	block.write(octal(checksum(block), 6), 148, 'latin1');
	return block;
}

/** Zero-padded octal and a space; all sevens when it does not fit (as tar-stream did). */
function octal(value: number, digits: number): string {
	const text = value.toString(8);
	if (text.length > digits) return `${'7'.repeat(digits)} `;
	return `${'0'.repeat(digits - text.length)}${text} `;
}

/** Sizes of 8 GiB and more do not fit 11 octal digits: base-256, as GNU tar writes them. */
function writeSize(block: Buffer, size: number) {
	if (size.toString(8).length <= 11) {
		block.write(octal(size, 11), 124, 'latin1');
		return;
	}
	block[124] = 0x80;
	let rest = size;
	for (let i = 11; i > 0; i--) {
		block[124 + i] = rest & 0xff;
		rest = Math.floor(rest / 0x100);
	}
}

/** Sum of the block's bytes with the checksum field counted as eight spaces. */
function checksum(block: Buffer): number {
	let sum = 8 * 32;
	for (let i = 0; i < 148; i++) sum += block[i];
	for (let i = 156; i < TAR_BLOCK; i++) sum += block[i];
	return sum;
}
