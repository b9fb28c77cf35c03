import { BackupError } from '../../errors';

/**
 * Write-ahead log positions and segment names, as PostgreSQL spells them. An LSN is a 64-bit
 * byte position printed as two hex halves ("16/B374D848"); a segment file is named by its
 * timeline and its number, 8 hex digits each for the timeline, the high and the low part.
 */

export function parseLsn(text: string, what = 'LSN'): bigint {
	const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
	if (!match)
		throw new BackupError(
			'INVALID_INPUT',
			`${what} "${text}" is not a PostgreSQL WAL position (expected two hex numbers like 16/B374D848)`,
			'The value comes from a backup set or the server; if a set was edited by hand, use an unedited copy.',
		);
	return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
	return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const compareLsn = (a: string, b: string) => {
	const d = parseLsn(a) - parseLsn(b);
	return d < 0n ? -1 : d > 0n ? 1 : 0;
};

/** Number of the segment holding `lsn`. */
export const segmentOf = (lsn: bigint, segmentBytes: number) => lsn / BigInt(segmentBytes);

/** First byte of the segment holding `lsn`. */
export const segmentStart = (lsn: bigint, segmentBytes: number) => segmentOf(lsn, segmentBytes) * BigInt(segmentBytes);

const hex8 = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');

/** "000000010000000000000003": timeline, then the segment number split at 4 GiB of WAL. */
export function segmentName(timeline: number, segment: bigint, segmentBytes: number): string {
	const perId = 0x100000000n / BigInt(segmentBytes);
	return `${hex8(timeline)}${hex8(segment / perId)}${hex8(segment % perId)}`;
}

export const SEGMENT_NAME = /^[0-9A-F]{24}$/;

export function parseSegmentName(name: string, segmentBytes: number): { timeline: number; segment: bigint } {
	if (!SEGMENT_NAME.test(name))
		throw new BackupError(
			'INVALID_INPUT',
			`"${name}" is not a WAL segment file name`,
			'WAL segment names are 24 upper-case hex digits.',
		);
	const perId = 0x100000000n / BigInt(segmentBytes);
	const high = BigInt(`0x${name.slice(8, 16)}`);
	const low = BigInt(`0x${name.slice(16, 24)}`);
	return { timeline: parseInt(name.slice(0, 8), 16), segment: high * perId + low };
}

/**
 * What a WAL file of pg_receivewal is: a segment (maybe gzip-compressed, maybe `.partial`, the
 * one it was writing when it stopped) or a timeline history file.
 */
export interface WalFileName {
	kind: 'segment' | 'history';
	/** Segment name (24 hex digits) or the history file's name ("00000002.history"). */
	name: string;
	timeline: number;
	partial: boolean;
	compression: 'gzip' | 'lz4' | 'none';
}

export function classifyWalFile(file: string): WalFileName | undefined {
	const history = /^([0-9A-F]{8})\.history$/.exec(file);
	if (history)
		return { kind: 'history', name: file, timeline: parseInt(history[1], 16), partial: false, compression: 'none' };
	const segment = /^([0-9A-F]{24})(\.gz|\.lz4)?(\.partial)?$/.exec(file);
	if (!segment) return undefined;
	return {
		kind: 'segment',
		name: segment[1],
		timeline: parseInt(segment[1].slice(0, 8), 16),
		partial: Boolean(segment[3]),
		compression: segment[2] === '.gz' ? 'gzip' : segment[2] === '.lz4' ? 'lz4' : 'none',
	};
}
