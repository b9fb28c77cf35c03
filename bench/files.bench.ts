/**
 * Protheus file-tree benchmark: our full backup (makeBackup(new ProtheusFilesSource())) against
 * `tar -I zstd -cf` on the same generated tree, in the same run; then an incremental after 1%
 * of the files changed, against the full and against an incremental with nothing changed (the
 * fixed cost of walking and stat-ing the tree). Speed is reported, never asserted; sanity is
 * asserted (our sets verify, and the archives hold the same number of files as tar's).
 * Besides wall time it prints CPU seconds (Linux): tar + zstd, and ours as Node (all threads:
 * the main thread reads and packs, a worker thread hashes files) with its main thread alone,
 * plus zstd. On a shared machine the CPU figures are steadier than the wall-clock ratio.
 *
 *   npx tsx bench/files.bench.ts                          # 20,000 files, 2 GiB, 2 rounds
 *   npx tsx bench/files.bench.ts --files 3000 --size 200MB --rounds 1   # a quick run
 *
 * Options (or environment variables):
 *   --files N      BENCH_FILES   files in the tree (default 20000)
 *   --size SIZE    BENCH_SIZE    total bytes, e.g. 2GB, 500MB (binary units; default 2GB)
 *   --rounds N     BENCH_ROUNDS  measured runs of each full variant (default 2; best is reported)
 *   --changed P    BENCH_CHANGED percent of files changed before the incremental (default 1)
 *   --dir PATH     BENCH_DIR     work folder (default: a new folder under the OS temp folder)
 *   --out FILE     BENCH_OUT     results file (default bench/results/files-<date>.txt)
 *   --keep                       keep the work folder
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeBackup } from '../core/backup';
import { manifestOf } from '../core/backup-set/manifest';
import { formatBytes } from '../core/format';
import { silentLogger } from '../core/logger';
import { defaultFilesOptions, ProtheusFilesSource } from '../core/sources/protheus-files/files-source';
import { verifyLocalSet } from '../core/verify/verify-set';
import { createProtheusTree, rng, tableBytes } from '../support/fixtures/protheus-tree';
import { procStat, statusKiB, ticksPerSecond } from './proc';

const ROOT = path.resolve(__dirname, '..');
const MiB = 2 ** 20;

function arg(name: string, env: string, fallback: string): string {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : (process.env[env] ?? fallback);
}
function parseSize(text: string): number {
	const m = /^([\d.]+)\s*(B|KB|MB|GB|TB)?$/i.exec(text.trim());
	if (!m) throw new Error(`Cannot read size "${text}" (e.g. 2GB, 500MB)`);
	const unit = { B: 1, KB: 1024, MB: MiB, GB: 1024 * MiB, TB: 1024 * 1024 * MiB }[(m[2] ?? 'B').toUpperCase() as 'B'];
	return Math.round(Number(m[1]) * unit);
}

interface ChildRequest {
	tree: string;
	staging: string;
	type: 'full' | 'incremental';
}
interface ChildResult {
	ms: number;
	folder: string;
	archiveBytes: number;
	files: number;
	symlinks: number;
	archivedFiles: number;
	archivedBytes: number;
	changed: number;
	hwmKiB?: number;
	/** CPU of the whole Node process (all threads), of its main thread alone, and of zstd (reaped children). */
	cpuSeconds: number;
	mainThreadCpuSeconds?: number;
	zstdCpuSeconds?: number;
}

/** CPU seconds of this process's main thread (Linux: the main thread's id is the pid), or undefined. */
function mainThreadCpu(): number | undefined {
	try {
		const text = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
		const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
		return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
	} catch {
		return undefined;
	}
}

/** One backup in its own process, so its peak memory is its own. */
async function child(): Promise<void> {
	const req = JSON.parse(process.env.FILES_BENCH_REQUEST!) as ChildRequest;
	ticksPerSecond(); // runs getconf once, outside the measured window
	const cpu0 = process.cpuUsage();
	const main0 = mainThreadCpu();
	const children0 = procStat(process.pid)?.childrenCpu;
	const t0 = performance.now();
	const result = await makeBackup(new ProtheusFilesSource(), {
		connection: null,
		options: {
			...defaultFilesOptions,
			folders: [path.join(req.tree, 'apo'), path.join(req.tree, 'protheus_data')],
			protheusDefaults: false,
		},
		environment: 'bench',
		type: req.type,
		stagingFolder: req.staging,
		log: silentLogger,
	});
	const ms = performance.now() - t0;
	const cpu = process.cpuUsage(cpu0);
	const main1 = mainThreadCpu();
	const children1 = procStat(process.pid)?.childrenCpu;
	const m = manifestOf(result.manifest, 'protheus-files');
	const out: ChildResult = {
		ms,
		folder: result.folder,
		archiveBytes: m.artifacts[0].bytes,
		files: m.inventory.totals.files,
		symlinks: m.inventory.totals.symlinks,
		archivedFiles: m.inventory.totals.archivedFiles,
		archivedBytes: m.inventory.totals.archivedBytes,
		changed: m.inventory.changes.changed.length,
		hwmKiB: statusKiB('self', 'VmHWM'),
		cpuSeconds: (cpu.user + cpu.system) / 1e6,
		mainThreadCpuSeconds: main0 !== undefined && main1 !== undefined ? main1 - main0 : undefined,
		zstdCpuSeconds: children0 !== undefined && children1 !== undefined ? children1 - children0 : undefined,
	};
	process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
}

function runOurs(req: ChildRequest): Promise<ChildResult> {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'files.bench.ts'), '--child'], {
			env: { ...process.env, FILES_BENCH_REQUEST: JSON.stringify(req) },
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		let text = '';
		proc.stdout.on('data', (c: Buffer) => (text += c.toString()));
		proc.on('error', reject);
		proc.on('close', (code) => {
			const line = text.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
			if (code !== 0 || !line) reject(new Error(`our backup exited with ${code}: ${text}`));
			else resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult);
		});
	});
}

/** `tar -I <compressor> -cf` of the same two folders; wall time, CPU of tar and its compressor, archive size. */
function runTar(
	treeRoot: string,
	out: string,
	compressor: string,
): { ms: number; cpuSeconds?: number; bytes: number; entries: number } {
	rmSync(out, { force: true });
	const children0 = procStat(process.pid)?.childrenCpu;
	const t0 = performance.now();
	const r = spawnSync('tar', ['-I', compressor, '-cf', out, '-C', treeRoot, 'apo', 'protheus_data'], {
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	const ms = performance.now() - t0;
	const children1 = procStat(process.pid)?.childrenCpu;
	const cpuSeconds = children0 !== undefined && children1 !== undefined ? children1 - children0 : undefined;
	if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
	const list = spawnSync('tar', ['-I', 'zstd', '-tf', out], { maxBuffer: 256 * MiB });
	const entries = list.stdout
		.toString()
		.split('\n')
		.filter((l) => l && !l.endsWith('/')).length;
	return { ms, cpuSeconds, bytes: statSync(out).size, entries };
}

const cpuText = (seconds: number | undefined) => (seconds === undefined ? 'n/a' : seconds.toFixed(1));

async function main(): Promise<void> {
	if (process.argv.includes('--child')) return child();
	const files = Number(arg('files', 'BENCH_FILES', '20000'));
	const size = parseSize(arg('size', 'BENCH_SIZE', '2GB'));
	const rounds = Math.max(1, Number(arg('rounds', 'BENCH_ROUNDS', '2')));
	const changedPercent = Number(arg('changed', 'BENCH_CHANGED', '1'));
	const work =
		process.argv.includes('--dir') || process.env.BENCH_DIR
			? arg('dir', 'BENCH_DIR', '')
			: mkdtempSync(path.join(os.tmpdir(), 'totvs-files-bench-'));
	mkdirSync(work, { recursive: true });
	const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
	const outFile = arg('out', 'BENCH_OUT', path.join(ROOT, 'bench', 'results', `files-${stamp}Z.txt`));
	const lines: string[] = [];
	const say = (line: string) => {
		lines.push(line);
		console.log(line);
	};
	try {
		// A Protheus-like tree: RPOs ~10% of the bytes, 100 local tables ~40%, the rest in small files.
		const treeRoot = path.join(work, 'totvs');
		const t0 = performance.now();
		const small = Math.max(100, files - 300);
		const tree = await createProtheusTree(treeRoot, {
			rpoBytes: Math.round(size * 0.066),
			tables: 100,
			tableBytes: Math.round((size * 0.4) / 100 / 1.125),
			smallFiles: small,
			smallFileBytes: Math.round((size * 0.5) / small),
		});
		say(
			`files benchmark ${new Date().toISOString()} on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, ${spawnSync('zstd', ['--version']).stdout.toString().trim()}`,
		);
		say(
			`tree: ${tree.files.length} files, ${formatBytes(tree.bytes)} (generated in ${((performance.now() - t0) / 1000).toFixed(0)} s) at ${treeRoot}`,
		);

		const staging = path.join(work, 'staging');
		mkdirSync(staging);
		const tarOut = path.join(work, 'baseline.tar.zst');
		const results: Record<'tar' | 'tarT0' | 'ours', number[]> = { tar: [], tarT0: [], ours: [] };
		let ours: ChildResult | undefined;
		let tarInfo: ReturnType<typeof runTar> | undefined;
		for (let round = 1; round <= rounds; round++) {
			tarInfo = runTar(treeRoot, tarOut, 'zstd');
			results.tar.push(tarInfo.ms);
			say(
				`round ${round}: tar -I zstd -cf        ${(tarInfo.ms / 1000).toFixed(2)} s, ${formatBytes(tarInfo.bytes)}, CPU ${cpuText(tarInfo.cpuSeconds)} s (tar + zstd)`,
			);
			const t0Info = runTar(treeRoot, tarOut, 'zstd -T0');
			results.tarT0.push(t0Info.ms);
			say(
				`round ${round}: tar -I 'zstd -T0' -cf  ${(t0Info.ms / 1000).toFixed(2)} s, ${formatBytes(t0Info.bytes)}, CPU ${cpuText(t0Info.cpuSeconds)} s (tar + zstd)`,
			);
			rmSync(path.join(staging, 'bench'), { recursive: true, force: true }); // each round's full starts from nothing
			ours = await runOurs({ tree: treeRoot, staging, type: 'full' });
			results.ours.push(ours.ms);
			say(
				`round ${round}: ours (full)            ${(ours.ms / 1000).toFixed(2)} s, ${formatBytes(ours.archiveBytes)}, peak RSS ${formatBytes((ours.hwmKiB ?? 0) * 1024)}, CPU ${ours.cpuSeconds.toFixed(1)} s (Node; main thread ${cpuText(ours.mainThreadCpuSeconds)} s) + ${cpuText(ours.zstdCpuSeconds)} s (zstd)`,
			);
		}
		rmSync(tarOut, { force: true });
		if (!ours || !tarInfo) throw new Error('no round ran');
		if (ours.files + ours.symlinks !== tarInfo.entries)
			throw new Error(
				`our archive has ${ours.files} files and ${ours.symlinks} links, tar's ${tarInfo.entries} entries`,
			);
		const verify = await verifyLocalSet(ours.folder);
		if (!verify.verification.ok)
			throw new Error(`our full set does not verify: ${JSON.stringify(verify.verification.checks)}`);
		const best = (xs: number[]) => Math.min(...xs);
		const throughput = (ms: number) => `${formatBytes((tree.bytes / ms) * 1000)}/s`;
		say(
			`full: ours ${throughput(best(results.ours))} vs tar -I zstd ${throughput(best(results.tar))}: ratio ${(best(results.tar) / best(results.ours)).toFixed(2)}x (target >= 0.9x); vs tar -I 'zstd -T0': ${(best(results.tarT0) / best(results.ours)).toFixed(2)}x`,
		);

		// Incremental with nothing changed: the fixed cost (walk + stat of every entry, manifest).
		const idle = await runOurs({ tree: treeRoot, staging, type: 'incremental' });
		say(`incremental, nothing changed: ${(idle.ms / 1000).toFixed(2)} s (${idle.archivedFiles} files archived)`);

		// Change N% of the files (same size, new content and mtime), then the incremental.
		const random = rng(99);
		const picked = [...tree.files]
			.filter((f) => f.startsWith('apo/') || f.startsWith('protheus_data/'))
			.filter(() => random() < changedPercent / 100);
		let changedBytes = 0;
		for (const rel of picked) {
			const file = path.join(treeRoot, rel);
			const size = statSync(file).size;
			if (size > 64 * MiB) {
				// Large: rewrite one block in place (what a table update does), keeping the size.
				const content = await readFile(file);
				tableBytes(4096, random).copy(content, Math.floor(random() * (size - 4096)));
				await writeFile(file, content);
			} else await writeFile(file, tableBytes(size, random));
			const when = new Date(Date.now() + 1000);
			await utimes(file, when, when);
			changedBytes += size;
		}
		const incremental = await runOurs({ tree: treeRoot, staging, type: 'incremental' });
		if (incremental.changed !== picked.length)
			throw new Error(`the incremental found ${incremental.changed} changed files, ${picked.length} were changed`);
		const verifyIncremental = await verifyLocalSet(incremental.folder);
		if (!verifyIncremental.verification.ok) throw new Error('our incremental set does not verify');
		const fullMs = best(results.ours);
		say(
			`incremental after ${picked.length} files changed (${((picked.length / tree.files.length) * 100).toFixed(2)}% of files, ${formatBytes(changedBytes)} = ${((changedBytes / tree.bytes) * 100).toFixed(2)}% of bytes): ` +
				`${(incremental.ms / 1000).toFixed(2)} s = ${((incremental.ms / fullMs) * 100).toFixed(1)}% of the full's time; archive ${formatBytes(incremental.archiveBytes)}; peak RSS ${formatBytes((incremental.hwmKiB ?? 0) * 1024)}`,
		);
		say(
			`incremental minus the nothing-changed run: ${((incremental.ms - idle.ms) / 1000).toFixed(2)} s for ${formatBytes(changedBytes)} ` +
				`(${formatBytes((changedBytes / Math.max(1, incremental.ms - idle.ms)) * 1000)}/s; the full moved ${throughput(fullMs)})`,
		);
		mkdirSync(path.dirname(outFile), { recursive: true });
		writeFileSync(outFile, lines.join('\n') + '\n');
		console.log(`results written to ${outFile}`);
	} finally {
		if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
