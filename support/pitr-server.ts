/**
 * A PostgreSQL server for point-in-time recovery tests: WAL for replication, slots and WAL
 * senders, and the operations those tests need on the server itself — a restart, a forced
 * timeline switch, a pg_hba.conf without replication. Built on support/postgres.ts, whose
 * default pg_hba.conf (initdb's) already allows replication connections from 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PgServer, type StartPostgresOptions } from './postgres';

export interface PitrServer extends PgServer {
	/** `pg_ctl restart -m fast`: same data, same port, same timeline; slots survive. */
	restart(): Promise<void>;
	/**
	 * Makes the server switch to a new timeline, as a point-in-time recovery in place or a
	 * promoted standby does: stop, archive recovery from pg_wal only, promotion. Returns the
	 * new timeline.
	 */
	switchTimeline(): Promise<number>;
	/** Replaces pg_hba.conf with these lines and reloads the configuration. */
	setHba(lines: string[]): Promise<void>;
	/** The server's current timeline. */
	timeline(): Promise<number>;
}

/** Settings a PITR source needs (several are PostgreSQL 15's defaults, stated so tests do not depend on them). */
export const PITR_SETTINGS = {
	wal_level: 'replica',
	max_wal_senders: 10,
	max_replication_slots: 10,
	// Only the slot keeps WAL for the chain, as on a site that follows the docs.
	wal_keep_size: 0,
	// As on a real server (support/postgres.ts turns it off for speed): recovery relies on it.
	full_page_writes: 'on',
};

function asPostgres(server: PgServer): boolean {
	return server.stopInfo().asPostgres;
}

function runAsServer(server: PgServer, file: string, args: string[], timeoutMs = 120_000): Promise<string> {
	const runAs = asPostgres(server);
	const [cmd, argv] = runAs ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
	env.LC_ALL = 'C';
	return new Promise((resolve, reject) => {
		execFile(cmd, argv, { cwd: os.tmpdir(), env, timeout: timeoutMs }, (error, stdout, stderr) => {
			if (error)
				reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${error.message}\n${stderr}${stdout}`));
			else resolve(stdout);
		});
	});
}

/** Writes a file in the data folder, owned by the server's user. */
async function writeServerFile(server: PgServer, relative: string, text: string): Promise<void> {
	const file = path.join(server.dataDir, relative);
	await fsp.writeFile(file, text, { mode: 0o600 });
	if (asPostgres(server)) {
		const { uid, gid } = await fsp.stat(server.dataDir);
		await fsp.chown(file, uid, gid);
	}
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			if (await probe()) return;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

export async function startPitrServer(opts: StartPostgresOptions = {}): Promise<PitrServer> {
	const server = await startPostgres({ ...opts, settings: { ...PITR_SETTINGS, ...opts.settings } });
	// Recovery settings for switchTimeline() live in their own file, included from the start.
	await fsp.appendFile(path.join(server.dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'pitr-test.conf'\n");
	const pgCtl = path.join(server.binDir, 'pg_ctl');

	const timeline = async () => {
		const rows = await server.admin<{ tli: number }>('SELECT timeline_id AS tli FROM pg_control_checkpoint()');
		return Number(rows[0].tli);
	};
	const acceptingWrites = () =>
		waitFor('the server to accept writes', 90_000, async () => {
			const rows = await server.admin<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
			return rows[0].r === false;
		});

	const restart = async () => {
		await runAsServer(server, pgCtl, [
			'restart',
			'-D',
			server.dataDir,
			'-m',
			'fast',
			'-w',
			'-t',
			'90',
			'-l',
			server.logFile,
		]);
		await acceptingWrites();
	};

	return Object.assign(server, {
		restart,
		timeline,
		async switchTimeline() {
			const before = await timeline();
			await runAsServer(server, pgCtl, ['stop', '-D', server.dataDir, '-m', 'fast', '-w', '-t', '90']);
			// Archive recovery needs a restore_command; 'false' finds nothing, so recovery replays
			// pg_wal, ends, and promotes onto a new timeline.
			await writeServerFile(server, 'pitr-test.conf', "restore_command = 'false'\n");
			await writeServerFile(server, 'recovery.signal', '');
			await runAsServer(server, pgCtl, ['start', '-D', server.dataDir, '-w', '-t', '90', '-l', server.logFile]);
			await acceptingWrites();
			await writeServerFile(server, 'pitr-test.conf', '');
			const after = await timeline();
			// pg_control_checkpoint() shows the new timeline once the end-of-recovery checkpoint ran.
			if (after === before) {
				await server.admin('CHECKPOINT');
				return timeline();
			}
			return after;
		},
		async setHba(lines: string[]) {
			const loadTime = async () => (await server.admin<{ t: string }>('SELECT pg_conf_load_time()::text AS t'))[0].t;
			const before = await loadTime();
			await writeServerFile(server, 'pg_hba.conf', `${lines.join('\n')}\n`);
			await server.admin('SELECT pg_reload_conf()');
			// The postmaster reloads asynchronously; a new backend inherits its load time, so a
			// changed time on a new connection means new connections see the new file.
			await waitFor('pg_hba.conf to be reloaded', 30_000, async () => (await loadTime()) !== before);
		},
	});
}
