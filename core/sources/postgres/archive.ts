import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../../errors';
import { BoundedTail } from '../../pipeline/bounded-tail';

export interface ArchiveToc {
	/** "schema.table" of every TABLE DATA entry. */
	tableData: Set<string>;
	entries: number;
}

export const tableKey = (schema: string, name: string) => `${schema}.${name}`;

/**
 * Reads a pg_dump archive's table of contents with `pg_restore --list` (no database needed).
 * Lines look like `3372; 0 16390 TABLE DATA public sa1010 postgres`.
 */
export async function readArchiveToc(pgRestorePath: string, archivePath: string): Promise<ArchiveToc> {
	return readToc(pgRestorePath, archivePath);
}

/**
 * The table of contents of an archive that streams past (a sealed dump: pg_dump's output goes to
 * the encrypting set writer and never to disk in the clear). Pipe the dump through `tee`;
 * `toc` resolves once pg_restore --list has read the archive's head from its standard input.
 */
export function readStreamedArchiveToc(
	pgRestorePath: string,
	label: string,
): { tee: Transform; toc: Promise<ArchiveToc> } {
	let stdin: Writable | undefined;
	const toc = readToc(pgRestorePath, label, (input) => (stdin = input));
	toc.catch(() => undefined); // a caller that stopped early may never await it
	return { tee: new TocTee(stdin!), toc };
}

/**
 * The table of contents of an archive read from `plaintext` (a sealed artifact decrypted on the
 * fly). Stops reading once pg_restore --list has the TOC; an error of the stream itself (wrong
 * key, damaged ciphertext) wins over pg_restore's, since it is the cause.
 */
export async function readArchiveTocFrom(
	pgRestorePath: string,
	plaintext: Readable,
	label: string,
): Promise<ArchiveToc> {
	const { tee, toc } = readStreamedArchiveToc(pgRestorePath, label);
	const flowing = pipeline(plaintext, tee, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
	flowing.catch(() => undefined);
	try {
		const outcome = await Promise.race([
			toc.then((found) => ({ found })),
			flowing.then(
				() => ({ found: undefined }),
				(error: unknown) => ({ error }),
			),
		]);
		if ('error' in outcome) throw outcome.error;
		return outcome.found ?? (await toc);
	} finally {
		plaintext.destroy();
		tee.destroy();
	}
}

/** Hands every chunk on, and also to pg_restore --list's input while it still reads (it stops after the TOC). */
class TocTee extends Transform {
	private open = true;
	constructor(private readonly sink: Writable) {
		super({ highWaterMark: 1 << 20 });
		const closed = () => (this.open = false);
		sink.on('close', closed);
		sink.on('error', closed); // EPIPE once pg_restore has what it needs
	}
	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.push(chunk);
		if (!this.open || this.sink.write(chunk)) return callback();
		const go = () => {
			this.sink.off('drain', go);
			this.sink.off('close', go);
			callback();
		};
		this.sink.on('drain', go);
		this.sink.on('close', go);
	}
	override _flush(callback: TransformCallback) {
		if (this.open) this.sink.end();
		callback();
	}
	override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
		// Stopped early: pg_restore --list must not wait for more input.
		if (this.open && !this.sink.writableEnded) this.sink.destroy();
		callback(error);
	}
}

async function readToc(
	pgRestorePath: string,
	archivePath: string,
	streamed?: (stdin: Writable) => void,
): Promise<ArchiveToc> {
	const child = spawn(pgRestorePath, streamed ? ['--list'] : ['--list', archivePath], {
		stdio: [streamed ? 'pipe' : 'ignore', 'pipe', 'pipe'],
		env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
	});
	streamed?.(child.stdin!);
	const stderr = new BoundedTail();
	child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
	const toc: ArchiveToc = { tableData: new Set(), entries: 0 };
	const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
	const exited = new Promise<number | null>((resolve, reject) => {
		child.on('error', reject);
		child.on('close', resolve);
	});
	for await (const line of lines) {
		if (!/^\d+;/.test(line)) continue;
		toc.entries++;
		const data = /^\d+; \d+ \d+ TABLE DATA (\S+) (.+) \S+$/.exec(line);
		if (data) toc.tableData.add(tableKey(data[1], data[2]));
	}
	const code = await exited;
	if (code !== 0)
		throw new BackupError(
			'VERIFY_FAILED',
			`pg_restore --list cannot read ${archivePath}: ${stderr.text() || `exit code ${code}`}`,
			'The dump is damaged or truncated, or was made by a newer pg_dump than this pg_restore. Make a new backup; keep the damaged one for investigation.',
		);
	return toc;
}
