import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
	const child = spawn(pgRestorePath, ['--list', archivePath], {
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
	});
	const stderr = new BoundedTail();
	child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
	const toc: ArchiveToc = { tableData: new Set(), entries: 0 };
	const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
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
