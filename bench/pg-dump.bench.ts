/**
 * pg_dump benchmark: plain `pg_dump -Fc -f file` against our full pipeline
 * (makeBackup(new PostgresSource()) with default options) on Protheus-like databases of a few
 * sizes, on a PostgreSQL server of its own. Speed is reported, never asserted; sanity is
 * asserted (our set verifies, both archives list with pg_restore and hold the same tables).
 *
 *   npm run bench                                  # ~100 MB and ~1 GB, 3 rounds
 *   npm run bench -- --sizes 100MB,1GB,2.5GB --rounds 2
 *   npm run bench -- --scales 20000 --variants baseline,ours,lite,pipe
 *
 * Options (or environment variables):
 *   --sizes LIST     BENCH_SIZES     target pg_database_size per database, e.g. 100MB,1GB (binary units)
 *   --scales LIST    BENCH_SCALES    fixture scales instead of sizes (≈5.5 KiB per unit + 8 MiB)
 *   --rounds N       BENCH_ROUNDS    measured runs of each variant per size (default 3, at least 2)
 *   --variants LIST  BENCH_VARIANTS  baseline,ours (default); also `lite` (ours with planner
 *                                    estimates for row counts and no fingerprints: the inventory's
 *                                    cost) and `pipe` (pg_dump -Fc through our hashing stage only)
 *   --order abab|abba BENCH_ORDER    abab (default): the same order every round; abba reverses
 *                                    every other round
 *   --out FILE       BENCH_OUT       results file (default bench/results/pg-dump-<date>.txt)
 *   --verbose        BENCH_VERBOSE   fixture progress and our pipeline's log on stderr
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../core/format';
import { readArchiveToc, type ArchiveToc } from '../core/sources/postgres/archive';
import type { PostgresDumpOptions } from '../core/sources/postgres/postgres-source';
import { verifyLocalSet } from '../core/verify/verify-set';
import { createProtheusDatabase, dropDatabase } from '../support/fixtures/protheus-db';
import { pgEnv, startPostgres, type PgServer } from '../support/postgres';
import { ChildWatcher, serverCpuSeconds, systemCpu, waitForClientBackendsToExit } from './proc';
import type { OursRequest, OursResult } from './run-ours';

const ROOT = path.resolve(__dirname, '..');
const MiB = 2 ** 20;
const BYTES_PER_SCALE = 5632; // ≈5.5 KiB per scale unit (support/fixtures/protheus-db.ts)
const FIXED_BYTES = 8 * MiB;

type Variant = 'baseline' | 'ours' | 'lite' | 'pipe';
const VARIANTS: Variant[] = ['baseline', 'ours', 'lite', 'pipe'];

interface Config {
	targets: { label: string; scale: number }[];
	rounds: number;
	variants: Variant[];
	order: 'abab' | 'abba';
	out: string;
	verbose: boolean;
}

interface RunRecord {
	variant: Variant;
	round: number;
	seconds: number;
	dumpBytes: number;
	/** Peak RSS of our Node process (ours, lite, pipe). */
	nodeHwmKiB?: number;
	nodeHwmBeforeKiB?: number;
	nodeCpuSeconds?: number;
	/** Peak RSS of pg_dump: exact (wait4 via /usr/bin/time) for the baseline when available, else polled VmHWM. */
	pgDumpKiB?: number;
	pgDumpKiBSource?: 'time' | 'polled';
	pgDumpCpuSeconds?: number;
	serverCpuSeconds?: number;
	/** Share of the machine's CPUs busy during the run (all processes). */
	machineBusy?: number;
	/** CPU seconds of the processes doing the run (pg_dump, backends, our Node process). */
	ownCpuSeconds?: number;
	/** Machine busy CPU seconds not accounted for by the run: other load on a shared machine. */
	otherCpuSeconds?: number;
	/** otherCpuSeconds as a share of the machine's CPU capacity during the run. */
	otherShare?: number;
	chunks?: number;
	meanChunkBytes?: number;
	childWallSeconds?: number;
	phases?: Record<string, number>;
	exactCounts?: number;
	tables?: number;
	toc: ArchiveToc;
}

// ---------------------------------------------------------------------------------------------
// Options

function parseBytes(text: string): number {
	const m = /^\s*([\d.]+)\s*([KMGT]?)(i?B)?\s*$/i.exec(text);
	if (!m) throw new Error(`cannot read size "${text}" (examples: 100MB, 1GB, 2.5GiB)`);
	const power = { '': 0, K: 1, M: 2, G: 3, T: 4 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
	return Number(m[1]) * 1024 ** power;
}

function parseConfig(argv: string[]): Config {
	const flag = (name: string): string | undefined => {
		const i = argv.indexOf(`--${name}`);
		if (i >= 0) return argv[i + 1];
		const eq = argv.find((a) => a.startsWith(`--${name}=`));
		return eq ? eq.slice(name.length + 3) : undefined;
	};
	const opt = (name: string, env: string) => flag(name) ?? process.env[env];
	const list = (s: string) =>
		s
			.split(',')
			.map((x) => x.trim())
			.filter(Boolean);

	let targets: Config['targets'];
	const scales = opt('scales', 'BENCH_SCALES');
	if (scales) {
		targets = list(scales).map((s) => ({ label: `scale ${Number(s)}`, scale: Math.max(1, Math.round(Number(s))) }));
	} else {
		targets = list(opt('sizes', 'BENCH_SIZES') ?? '100MB,1GB').map((s) => ({
			label: s,
			scale: Math.max(1, Math.round((parseBytes(s) - FIXED_BYTES) / BYTES_PER_SCALE)),
		}));
	}
	if (targets.some((t) => !Number.isFinite(t.scale))) throw new Error('scales must be numbers');
	const rounds = Number(opt('rounds', 'BENCH_ROUNDS') ?? 3);
	if (!Number.isInteger(rounds) || rounds < 2)
		throw new Error('--rounds must be an integer ≥ 2 (alternation needs two)');
	const variants = list(opt('variants', 'BENCH_VARIANTS') ?? 'baseline,ours') as Variant[];
	for (const v of variants)
		if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v} (known: ${VARIANTS.join(', ')})`);
	if (!variants.includes('baseline') || !variants.includes('ours'))
		throw new Error('--variants must include baseline and ours');
	const order = (opt('order', 'BENCH_ORDER') ?? 'abab') as Config['order'];
	if (order !== 'abab' && order !== 'abba') throw new Error('--order is abab or abba');
	const stamp = new Date()
		.toISOString()
		.replace(/:\d\d\.\d+Z$/, 'Z')
		.replace(/:/g, '');
	const out = path.resolve(opt('out', 'BENCH_OUT') ?? path.join(ROOT, 'bench', 'results', `pg-dump-${stamp}.txt`));
	const verbose = argv.includes('--verbose') || Boolean(process.env.BENCH_VERBOSE);
	return { targets, rounds, variants, order, out, verbose };
}

// ---------------------------------------------------------------------------------------------
// Output

const lines: string[] = [];
function say(line = ''): void {
	console.log(line);
	lines.push(line);
}

const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const mib = (kib: number | undefined) => (kib === undefined ? 'n/a' : `${Math.round(kib / 1024)}MiB`);
const secs = (s: number | undefined, digits = 2) => (s === undefined ? 'n/a' : `${s.toFixed(digits)}s`);
const gib = (bytes: number) =>
	bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)}GiB` : `${Math.round(bytes / MiB)}MiB`;

// ---------------------------------------------------------------------------------------------
// Runs

/** GNU time's -f %M (max RSS from wait4), when /usr/bin/time is GNU time. */
function gnuTime(): string | undefined {
	const r = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' });
	return r.status === 0 && /^\d+\s*$/.test(r.stderr.trim().split('\n').pop() ?? '') ? '/usr/bin/time' : undefined;
}

function childExit(child: ReturnType<typeof spawn>): Promise<number | null> {
	return new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code) => resolve(code));
	});
}

interface Counters {
	server?: number;
	machine?: { busy: number; total: number };
}
function counters(server: PgServer): Counters {
	return { server: serverCpuSeconds(server.dataDir), machine: systemCpu() };
}
function usage(before: Counters, after: Counters): { serverCpuSeconds?: number; busy?: number; total?: number } {
	return {
		serverCpuSeconds:
			before.server !== undefined && after.server !== undefined ? after.server - before.server : undefined,
		busy: before.machine && after.machine ? after.machine.busy - before.machine.busy : undefined,
		total: before.machine && after.machine ? after.machine.total - before.machine.total : undefined,
	};
}

/** Fills machineBusy, ownCpuSeconds and otherCpuSeconds from the window's counters. */
function accountCpu(r: RunRecord, busy: number | undefined, total: number | undefined): RunRecord {
	if (busy === undefined || !total) return r;
	const own = (r.pgDumpCpuSeconds ?? 0) + (r.serverCpuSeconds ?? 0) + (r.nodeCpuSeconds ?? 0);
	const other = Math.max(0, busy - own);
	return { ...r, machineBusy: busy / total, ownCpuSeconds: own, otherCpuSeconds: other, otherShare: other / total };
}

async function runBaseline(
	server: PgServer,
	database: string,
	staging: string,
	round: number,
	time: string | undefined,
): Promise<RunRecord> {
	const file = path.join(staging, `baseline-${round}.dump`);
	const timeFile = path.join(staging, `baseline-${round}.time`);
	const pgDump = path.join(server.binDir, 'pg_dump');
	const args = ['--format=custom', `--file=${file}`, '--no-password'];
	// Password through PGPASSWORD, never argv.
	const env = { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C', ...pgEnv(server.info(), database) };
	await waitForClientBackendsToExit(server.dataDir);
	const before = counters(server);
	const t0 = performance.now();
	const child = time
		? spawn(time, ['-f', '%M %U %S', '-o', timeFile, pgDump, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
		: spawn(pgDump, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
	const watcher = new ChildWatcher(time ? child.pid! : process.pid, /^pg_dump$/);
	let stderr = '';
	child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
	const code = await childExit(child);
	const seconds = (performance.now() - t0) / 1000;
	const polled = watcher.stop();
	if (code !== 0) throw new Error(`baseline pg_dump failed (${code}): ${stderr.trim()}`);
	await waitForClientBackendsToExit(server.dataDir); // pg_dump's backend is reaped: its CPU is counted
	const { serverCpuSeconds, busy, total } = usage(before, counters(server));
	let record: RunRecord = {
		variant: 'baseline',
		round,
		seconds,
		dumpBytes: statSync(file).size,
		pgDumpKiB: polled.hwmKiB,
		pgDumpKiBSource: 'polled',
		pgDumpCpuSeconds: polled.cpuSeconds,
		serverCpuSeconds,
		toc: await readArchiveToc(path.join(server.binDir, 'pg_restore'), file),
	};
	if (time) {
		const [maxKiB, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
		record = { ...record, pgDumpKiB: maxKiB, pgDumpKiBSource: 'time', pgDumpCpuSeconds: user + sys };
	}
	record = accountCpu(record, busy, total);
	rmSync(file, { force: true });
	rmSync(timeFile, { force: true });
	return record;
}

const LITE: Partial<PostgresDumpOptions> = { exactCountMaxBytes: 1, fingerprintRows: 0 };

async function runOurs(
	server: PgServer,
	database: string,
	staging: string,
	round: number,
	variant: Exclude<Variant, 'baseline'>,
	verbose: boolean,
): Promise<RunRecord> {
	const info = server.info();
	const request: OursRequest = {
		mode: variant === 'pipe' ? 'pipe' : 'ours',
		connection: {
			host: info.host,
			port: info.port,
			database,
			user: info.user,
			password: info.password,
			sslMode: 'disable',
			binFolder: info.binDir,
		},
		staging,
		environment: 'bench',
		options: variant === 'lite' ? LITE : {},
		dataDir: server.dataDir,
	};
	const t0 = performance.now();
	// A plain Node process with tsx's loader (not the tsx CLI, which adds a second process).
	const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run-ours.ts')], {
		cwd: ROOT,
		env: { ...process.env, ...(verbose ? { BENCH_VERBOSE: '1' } : {}) },
		stdio: ['pipe', 'pipe', verbose ? 'inherit' : 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
	child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
	child.stdin!.end(JSON.stringify(request)); // the password travels on stdin
	const code = await childExit(child);
	const childWallSeconds = (performance.now() - t0) / 1000;
	const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
	if (code !== 0 || !line) throw new Error(`${variant} run failed (exit ${code}):\n${stderr.trim()}\n${stdout.trim()}`);
	const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as OursResult;
	let toc: ArchiveToc;
	if (r.mode === 'ours') {
		const { verification } = await verifyLocalSet(r.folder!, { pgClientFolder: info.binDir });
		if (!verification.ok) {
			const bad = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.message}`);
			throw new Error(`${variant} round ${round}: verifyLocalSet failed: ${bad.join('; ')}`);
		}
		toc = await readArchiveToc(path.join(info.binDir, 'pg_restore'), r.file);
		rmSync(r.folder!, { recursive: true, force: true });
	} else {
		toc = await readArchiveToc(path.join(info.binDir, 'pg_restore'), r.file);
		rmSync(r.file, { force: true });
	}
	const record: RunRecord = {
		variant,
		round,
		seconds: r.ms / 1000,
		dumpBytes: r.bytes,
		nodeHwmKiB: r.nodeHwmKiB,
		nodeHwmBeforeKiB: r.nodeHwmBeforeKiB,
		nodeCpuSeconds: r.nodeCpuSeconds,
		pgDumpKiB: r.pgDumpHwmKiB,
		pgDumpKiBSource: 'polled',
		pgDumpCpuSeconds: r.pgDumpCpuSeconds,
		childWallSeconds,
		phases: r.phases,
		exactCounts: r.exactCounts,
		tables: r.tables,
		serverCpuSeconds: r.serverCpuSeconds,
		chunks: r.chunks,
		meanChunkBytes: r.meanChunkBytes,
		toc,
	};
	// Counters read inside the child around makeBackup: Node's own start-up is left out.
	return accountCpu(record, r.machineBusySeconds, r.machineTotalSeconds);
}

function describeRun(r: RunRecord, dbBytes: number): string {
	const parts = [
		`  round ${r.round} ${r.variant.padEnd(8)} ${r.seconds.toFixed(2).padStart(7)}s`,
		`${(dbBytes / MiB / r.seconds).toFixed(1).padStart(6)} MiB/s`,
		`dump ${formatBytes(r.dumpBytes)}`,
		`pg_dump rss ${mib(r.pgDumpKiB)}${r.pgDumpKiBSource === 'polled' ? ' (polled)' : ''} cpu ${secs(r.pgDumpCpuSeconds, 1)}`,
		`server cpu ${secs(r.serverCpuSeconds, 1)}`,
		`machine busy ${r.machineBusy === undefined ? 'n/a' : `${Math.round(r.machineBusy * 100)}%`}, own cpu ${secs(r.ownCpuSeconds, 1)}, other load ${secs(r.otherCpuSeconds, 1)}${r.otherShare === undefined ? '' : ` (${Math.round(r.otherShare * 100)}%)`}`,
	];
	if (r.variant !== 'baseline') {
		parts.push(`node rss ${mib(r.nodeHwmKiB)} (at start ${mib(r.nodeHwmBeforeKiB)}) cpu ${secs(r.nodeCpuSeconds, 1)}`);
		parts.push(`process wall ${secs(r.childWallSeconds)}`);
		if (r.chunks) parts.push(`${r.chunks} reads of ${r.meanChunkBytes} B mean`);
		const p = r.phases ?? {};
		if (p.preflight !== undefined || p.pgDumpExited !== undefined)
			parts.push(
				`pre-flight ${secs(p.preflight === undefined ? undefined : p.preflight / 1000)}, pg_dump exit at ${secs(p.pgDumpExited === undefined ? undefined : p.pgDumpExited / 1000)}`,
			);
	}
	return parts.join(' | ');
}

// ---------------------------------------------------------------------------------------------

async function benchOneSize(
	server: PgServer,
	config: Config,
	target: Config['targets'][number],
	index: number,
	failures: string[],
	time: string | undefined,
) {
	const database = `bench_${index}_${target.scale}`;
	say(`== ${target.label}: fixture scale ${target.scale} ==`);
	const fixture = await createProtheusDatabase(server, {
		name: database,
		scale: target.scale,
		onProgress: config.verbose ? (m) => console.error(`[fixture] ${m}`) : undefined,
	});
	const dbBytes = fixture.sizeBytes;
	const sizeLabel = gib(dbBytes);
	say(
		`build: ${(fixture.buildMs / 1000).toFixed(1)}s, pg_database_size ${dbBytes} bytes (${formatBytes(dbBytes)}), ` +
			`${fixture.tables.length} tables, ${fixture.tables.reduce((s, t) => s + t.rows, 0)} rows`,
	);
	// Dirty buffers from the load are written now, not during the first measured run.
	await server.admin('CHECKPOINT');
	const staging = mkdtempSync(path.join(os.tmpdir(), 'totvs-bench-'));
	const runs: RunRecord[] = [];
	try {
		for (let round = 1; round <= config.rounds; round++) {
			const order = config.order === 'abba' && round % 2 === 0 ? [...config.variants].reverse() : config.variants;
			for (const variant of order) {
				const r =
					variant === 'baseline'
						? await runBaseline(server, database, staging, round, time)
						: await runOurs(server, database, staging, round, variant, config.verbose);
				runs.push(r);
				say(describeRun(r, dbBytes));
			}
		}
	} finally {
		rmSync(staging, { recursive: true, force: true });
		await dropDatabase(server, database);
	}

	// Sanity (asserted): same tables in every archive; every table counted exactly by default.
	const reference = runs.find((r) => r.variant === 'baseline')!.toc;
	for (const r of runs) {
		const same =
			r.toc.tableData.size === reference.tableData.size &&
			[...reference.tableData].every((t) => r.toc.tableData.has(t));
		if (!same || r.toc.entries !== reference.entries)
			failures.push(
				`${sizeLabel} ${r.variant} round ${r.round}: archive lists ${r.toc.entries} entries / ${r.toc.tableData.size} TABLE DATA, baseline ${reference.entries} / ${reference.tableData.size}`,
			);
		if (r.variant === 'ours' && r.exactCounts !== r.tables)
			failures.push(
				`${sizeLabel} ours round ${r.round}: ${r.exactCounts} of ${r.tables} tables counted exactly (defaults count all)`,
			);
	}
	if (reference.tableData.size !== fixture.tables.length)
		failures.push(
			`${sizeLabel}: dump has ${reference.tableData.size} TABLE DATA entries, database ${fixture.tables.length} tables`,
		);

	const by = (v: Variant) => runs.filter((r) => r.variant === v);
	const med = (v: Variant, f: (r: RunRecord) => number | undefined) => {
		const xs = by(v)
			.map(f)
			.filter((x): x is number => x !== undefined);
		return xs.length ? median(xs) : undefined;
	};
	const max = (v: Variant, f: (r: RunRecord) => number | undefined) => {
		const xs = by(v)
			.map(f)
			.filter((x): x is number => x !== undefined);
		return xs.length ? Math.max(...xs) : undefined;
	};
	const base = med('baseline', (r) => r.seconds)!;
	const ours = med('ours', (r) => r.seconds)!;
	const tput = (s: number) => dbBytes / MiB / s;
	const ratio = base / ours;
	// Runs of the same round are neighbours in time, so their ratio cancels slow drifts of load.
	const pairs = by('ours').map((o) => by('baseline').find((b) => b.round === o.round)!.seconds / o.seconds);
	const paired = median(pairs);
	const otherLoad = median(runs.map((r) => r.otherShare ?? 0));
	say(`summary ${sizeLabel} (median of ${config.rounds}):`);
	for (const v of config.variants) {
		const s = med(v, (r) => r.seconds)!;
		say(
			`  ${v.padEnd(8)} ${s.toFixed(2).padStart(7)}s ${tput(s).toFixed(1).padStart(6)} MiB/s  dump ${formatBytes(med(v, (r) => r.dumpBytes)!)}` +
				`  server cpu ${secs(
					med(v, (r) => r.serverCpuSeconds),
					1,
				)}  pg_dump cpu ${secs(
					med(v, (r) => r.pgDumpCpuSeconds),
					1,
				)}` +
				`  own cpu ${secs(
					med(v, (r) => r.ownCpuSeconds),
					1,
				)}  other load ${secs(
					med(v, (r) => r.otherCpuSeconds),
					1,
				)}` +
				(v === 'baseline'
					? ''
					: `  node cpu ${secs(
							med(v, (r) => r.nodeCpuSeconds),
							1,
						)}  node peak rss ${mib(max(v, (r) => r.nodeHwmKiB))}`) +
				(v === 'baseline' || v === 'ours' ? '' : `  vs baseline ${(base / s).toFixed(3)}`),
		);
	}
	say(
		`  throughput ratio ours/baseline ${ratio.toFixed(3)} (target >= 0.95${ratio >= 0.95 ? ', met' : ', NOT met'}); ` +
			`per-round ratios ${pairs.map((x) => x.toFixed(2)).join(' ')}, median ${paired.toFixed(3)}`,
	);
	if (otherLoad > 0.1)
		say(
			`  WARNING: other processes used ${Math.round(otherLoad * 100)}% of the machine's CPU during a median run; ` +
				'timings are disturbed (compare own cpu, or rerun on a quiet machine)',
		);
	const extra = config.variants
		.filter((v) => v !== 'baseline' && v !== 'ours')
		.map((v) => ` ${v}=${med(v, (r) => r.seconds)!.toFixed(2)}s`)
		.join('');
	say(
		`RESULT size=${sizeLabel} baseline=${base.toFixed(2)}s ours=${ours.toFixed(2)}s ratio=${ratio.toFixed(2)}` +
			` paired_ratio=${paired.toFixed(2)} other_load=${Math.round(otherLoad * 100)}%` +
			` ours_peak_rss=${mib(max('ours', (r) => r.nodeHwmKiB))} ours_rss_at_start=${mib(med('ours', (r) => r.nodeHwmBeforeKiB))}` +
			` ours_pg_dump_peak_rss=${mib(max('ours', (r) => r.pgDumpKiB))}` +
			` baseline_pg_dump_peak_rss=${mib(max('baseline', (r) => r.pgDumpKiB))}` +
			` baseline_dump=${med('baseline', (r) => r.dumpBytes)} ours_dump=${med('ours', (r) => r.dumpBytes)}${extra}`,
	);
	say();
}

async function main(): Promise<void> {
	const config = parseConfig(process.argv.slice(2));
	// Ctrl-C / kill: exit normally so the harness's exit hook stops the server.
	for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
	const started = Date.now();
	const time = gnuTime();
	const server = await startPostgres();
	const failures: string[] = [];
	try {
		const pgDumpVersion = spawnSync(path.join(server.binDir, 'pg_dump'), ['--version'], {
			encoding: 'utf8',
		}).stdout.trim();
		say(`# pg_dump benchmark ${new Date().toISOString()}`);
		say(
			`# host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${formatBytes(os.totalmem())} RAM, ` +
				`Node ${process.version}, PostgreSQL ${server.version}, ${pgDumpVersion}`,
		);
		say(
			`# rounds ${config.rounds} (${config.order}), variants ${config.variants.join(',')}; baseline pg_dump peak RSS: ` +
				(time ? 'GNU time %M (wait4)' : 'polled VmHWM (/usr/bin/time not found)') +
				'; ours: Node VmHWM at exit, its pg_dump polled VmHWM',
		);
		say(
			'# ours = makeBackup(new PostgresSource(), defaults): custom format, gzip default level, exact counts, fingerprints 1000 rows',
		);
		say();
		for (const [i, target] of config.targets.entries()) await benchOneSize(server, config, target, i, failures, time);
	} catch (error) {
		failures.push(`bench aborted: ${(error as Error).stack ?? String(error)}`);
	} finally {
		await server.stop();
	}
	say(`# total bench time ${((Date.now() - started) / 1000).toFixed(0)}s`);
	if (failures.length) {
		say('# SANITY FAILURES:');
		for (const f of failures) say(`#   ${f}`);
	} else say('# sanity: OK (our sets verify, every archive lists with pg_restore and holds the same tables)');
	mkdirSync(path.dirname(config.out), { recursive: true });
	writeFileSync(config.out, `${lines.join('\n')}\n`);
	console.log(`(written to ${path.relative(process.cwd(), config.out)})`);
	if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
