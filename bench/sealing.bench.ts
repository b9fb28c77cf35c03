/**
 * Sealing benchmark: which age implementation the core uses, chosen by measurement (issue 12).
 * Encrypts and decrypts a random file with each candidate and compares with a plain copy:
 *
 *   copy      file → file through Node streams (the floor: what any stage costs on top)
 *   node      core/sealing's createEncryptStream / createDecryptStream (node:crypto, OpenSSL)
 *   cli       the `age` command spawned, bytes piped through Node (how the pipeline would use it)
 *   cli-file  the `age` command reading and writing the files itself (no Node pipe: its best case)
 *   typage    the `age-encryption` npm package (reference TypeScript implementation, web streams)
 *
 * Each run is its own process (`node --import tsx bench/sealing.bench.ts --worker`), so its
 * peak RSS is its own; for `cli` the age child's peak is polled too. Variants alternate within
 * a round and the order reverses every other round, so page cache and other load hit them alike.
 * Every decryption is checked byte-exact (SHA-256) against the input; speed is only reported.
 *
 *   npx tsx bench/sealing.bench.ts                       # 256 MiB, 2 rounds
 *   npx tsx bench/sealing.bench.ts --size 64MiB --rounds 3 --variants copy,node,cli
 *   npx tsx bench/sealing.bench.ts --typage /tmp/ageenc/node_modules/age-encryption
 *
 * Options (or environment variables):
 *   --size SIZE      BENCH_SEAL_SIZE      input size, binary units (default 256MiB)
 *   --rounds N       BENCH_SEAL_ROUNDS    runs per variant and direction (default 2)
 *   --variants LIST  BENCH_SEAL_VARIANTS  default copy,node,cli,cli-file,typage
 *   --typage DIR     BENCH_AGE_ENCRYPTION the age-encryption package folder; it is not a dependency
 *                                         of this package: `npm install --prefix /tmp/ageenc age-encryption`.
 *                                         Without it (and not resolvable) the variant is skipped, saying so.
 *
 * Needs the `age` command for cli / cli-file (scripts/setup.sh installs it); skipped otherwise.
 *
 * Figures from the development machine and the choice they led to: core/sealing/age.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
	createReadStream,
	createWriteStream,
	existsSync,
	mkdtempSync,
	openSync,
	readFileSync,
	rmSync,
	writeFileSync,
	writeSync,
	closeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createDecryptStream, createEncryptStream, generateAgeIdentity } from '../core/sealing';
import { ChildWatcher, procStat, statusKiB, systemCpu } from './proc';

const MiB = 2 ** 20;
type Variant = 'copy' | 'node' | 'cli' | 'cli-file' | 'typage';
const ALL: Variant[] = ['copy', 'node', 'cli', 'cli-file', 'typage'];
type Op = 'encrypt' | 'decrypt';

interface WorkerRequest {
	variant: Variant;
	op: Op;
	input: string;
	output: string;
	recipient: string;
	/** Secret: comes on stdin, never argv. */
	identity: string;
	identityFile: string;
	typage?: string;
}

interface WorkerResult {
	ms: number;
	rssStartKiB: number;
	rssPeakKiB: number;
	cpuSeconds: number;
	childPeakKiB?: number;
	childCpuSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// worker: one measured run

async function runWorker(request: WorkerRequest): Promise<WorkerResult> {
	const rssStartKiB = statusKiB('self', 'VmHWM') ?? Math.round(process.memoryUsage.rss() / 1024);
	const cpuStart = process.cpuUsage();
	let child: { hwmKiB?: number; cpuSeconds?: number } | undefined;
	// Load modules before the clock starts: only the work is timed.
	const typage = request.variant === 'typage' ? await loadTypage(request.typage) : undefined;
	const started = process.hrtime.bigint();
	const { input, output } = request;
	switch (request.variant) {
		case 'copy':
			await pipeline(createReadStream(input), createWriteStream(output));
			break;
		case 'node':
			await pipeline(
				createReadStream(input),
				request.op === 'encrypt' ? createEncryptStream([request.recipient]) : createDecryptStream(request.identity),
				createWriteStream(output),
			);
			break;
		case 'cli': {
			const args = request.op === 'encrypt' ? ['-r', request.recipient] : ['-d', '-i', request.identityFile];
			const proc = spawn('age', args, { stdio: ['pipe', 'pipe', 'inherit'] });
			const watcher = new ChildWatcher(process.pid, /^age$/, 50);
			const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
			await Promise.all([
				pipeline(createReadStream(input), proc.stdin),
				pipeline(proc.stdout, createWriteStream(output)),
			]);
			const code = await exited;
			child = watcher.stop();
			if (code !== 0) throw new Error(`age exited with ${code}`);
			break;
		}
		case 'cli-file': {
			const args =
				request.op === 'encrypt'
					? ['-r', request.recipient, '-o', output, input]
					: ['-d', '-i', request.identityFile, '-o', output, input];
			const proc = spawn('age', args, { stdio: ['ignore', 'ignore', 'inherit'] });
			const watcher = new ChildWatcher(process.pid, /^age$/, 50);
			const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
			child = watcher.stop();
			if (code !== 0) throw new Error(`age exited with ${code}`);
			break;
		}
		case 'typage': {
			const source = Readable.toWeb(createReadStream(input)) as unknown as ReadableStream<Uint8Array>;
			let result: ReadableStream<Uint8Array>;
			if (request.op === 'encrypt') {
				const encrypter = new typage!.Encrypter();
				encrypter.addRecipient(request.recipient);
				result = await encrypter.encrypt(source);
			} else {
				const decrypter = new typage!.Decrypter();
				decrypter.addIdentity(request.identity);
				result = await decrypter.decrypt(source);
			}
			// eslint-disable-next-line @typescript-eslint/no-explicit-any
			await pipeline(Readable.fromWeb(result as any), createWriteStream(output));
			break;
		}
	}
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	const cpu = process.cpuUsage(cpuStart);
	// The age child's CPU, once reaped, is in our cutime/cstime (exact, unlike the polled value).
	const reaped = procStat(process.pid)?.childrenCpu;
	return {
		ms,
		rssStartKiB,
		rssPeakKiB: statusKiB('self', 'VmHWM') ?? process.resourceUsage().maxRSS,
		cpuSeconds: (cpu.user + cpu.system) / 1e6,
		childPeakKiB: child?.hwmKiB,
		childCpuSeconds: child ? (reaped ?? child.cpuSeconds) : undefined,
	};
}

interface Typage {
	Encrypter: new () => {
		addRecipient(r: string): void;
		encrypt(s: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>>;
	};
	Decrypter: new () => {
		addIdentity(i: string): void;
		decrypt(s: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>>;
	};
}

/** The age-encryption package from an explicit folder, or resolved from here; undefined if absent. */
function typageEntry(dir?: string): string | undefined {
	if (dir) {
		const entry = path.join(dir, 'dist', 'index.js');
		return existsSync(entry) ? entry : undefined;
	}
	try {
		return require.resolve('age-encryption');
	} catch {
		return undefined;
	}
}

async function loadTypage(dir?: string): Promise<Typage> {
	const entry = typageEntry(dir);
	if (!entry) throw new Error('age-encryption not found');
	return (await import(pathToFileURL(entry).href)) as Typage;
}

// ---------------------------------------------------------------------------------------------
// driver

function parseSize(text: string): number {
	const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB|K|M|G)?$/i.exec(text.trim());
	if (!match) throw new Error(`--size: cannot read "${text}" (e.g. 256MiB)`);
	const unit = (match[2] ?? 'B').toUpperCase()[0];
	const factor = unit === 'K' ? 1024 : unit === 'M' ? MiB : unit === 'G' ? 1024 * MiB : 1;
	return Math.round(Number(match[1]) * factor);
}

function option(name: string, env: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : process.env[env];
}

function runChild(request: WorkerRequest): Promise<WorkerResult> {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, ['--import', 'tsx', __filename, '--worker'], {
			stdio: ['pipe', 'pipe', 'inherit'],
			cwd: path.resolve(__dirname, '..'),
		});
		let out = '';
		proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
		proc.on('error', reject);
		proc.on('close', (code) => {
			const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
			if (code !== 0 || !line) reject(new Error(`${request.variant} ${request.op} failed (exit ${code})`));
			else resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as WorkerResult);
		});
		proc.stdin.end(JSON.stringify(request));
	});
}

async function sha256File(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Row {
	variant: Variant;
	op: Op;
	round: number;
	result: WorkerResult;
}

async function main() {
	const size = parseSize(option('size', 'BENCH_SEAL_SIZE') ?? '256MiB');
	const rounds = Math.max(1, Number(option('rounds', 'BENCH_SEAL_ROUNDS') ?? 2));
	const typageDir = option('typage', 'BENCH_AGE_ENCRYPTION');
	const requested = (option('variants', 'BENCH_SEAL_VARIANTS') ?? ALL.join(','))
		.split(',')
		.map((v) => v.trim()) as Variant[];
	for (const v of requested) if (!ALL.includes(v)) throw new Error(`unknown variant ${v} (${ALL.join(', ')})`);

	const hasAge = spawnSync('age', ['--version']).status === 0;
	const variants = requested.filter((v) => {
		if ((v === 'cli' || v === 'cli-file') && !hasAge) {
			console.log(`skipped ${v}: the age command is not installed (apt-get install age)`);
			return false;
		}
		if (v === 'typage' && !typageEntry(typageDir)) {
			console.log(
				'skipped typage: age-encryption not found; `npm install --prefix /tmp/ageenc age-encryption` and pass ' +
					'--typage /tmp/ageenc/node_modules/age-encryption',
			);
			return false;
		}
		return true;
	});
	if (!variants.includes('copy')) variants.unshift('copy');

	const dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-seal-bench-'));
	const cleanup = () => rmSync(dir, { recursive: true, force: true });
	process.on('SIGINT', () => {
		cleanup();
		process.exit(130);
	});
	try {
		const keys = generateAgeIdentity();
		const identityFile = path.join(dir, 'key.txt');
		writeFileSync(identityFile, `${keys.identity}\n`, { mode: 0o600 });
		const input = path.join(dir, 'input.bin');
		const fd = openSync(input, 'w');
		const block = Buffer.allocUnsafe(MiB);
		for (let written = 0; written < size; written += block.length) {
			randomFillSync(block);
			writeSync(fd, block, 0, Math.min(block.length, size - written));
		}
		closeSync(fd);
		const inputSha = await sha256File(input);
		const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
		const cpu0 = systemCpu();
		const startedAt = Date.now();
		console.log(
			`sealing bench: ${(size / MiB).toFixed(0)} MiB random, ${rounds} round(s), variants ${variants.join(', ')}; ` +
				`node ${process.version}, ${os.cpus().length} cores, load average ${load()}`,
		);

		const rows: Row[] = [];
		const base = { recipient: keys.recipient, identity: keys.identity, identityFile, typage: typageDir };
		for (let round = 1; round <= rounds; round++) {
			const order = round % 2 ? variants : [...variants].reverse();
			for (const op of ['encrypt', 'decrypt'] as Op[]) {
				for (const variant of order) {
					if (variant === 'copy' && op === 'decrypt') continue;
					const source = op === 'encrypt' ? input : path.join(dir, `${variant}.age`);
					const output =
						op === 'encrypt'
							? path.join(dir, variant === 'copy' ? 'copy.bin' : `${variant}.age`)
							: path.join(dir, `${variant}.out`);
					const result = await runChild({ ...base, variant, op, input: source, output });
					let check = '';
					if (op === 'decrypt' || variant === 'copy') {
						if ((await sha256File(output)) !== inputSha)
							throw new Error(`${variant} ${op}: output differs from the input`);
						check = ' byte-exact';
						rmSync(output);
					}
					if (op === 'decrypt') rmSync(source);
					const mibs = size / MiB / (result.ms / 1000);
					const child =
						result.childPeakKiB !== undefined
							? ` | age rss ${(result.childPeakKiB / 1024).toFixed(0)} MiB cpu ${result.childCpuSeconds?.toFixed(2)}s`
							: '';
					console.log(
						`  round ${round} ${op.padEnd(7)} ${variant.padEnd(8)} ${(result.ms / 1000).toFixed(2).padStart(6)}s ` +
							`${mibs.toFixed(0).padStart(5)} MiB/s | node rss peak ${(result.rssPeakKiB / 1024).toFixed(0)} MiB ` +
							`(at start ${(result.rssStartKiB / 1024).toFixed(0)}) cpu ${result.cpuSeconds.toFixed(2)}s${child}${check} | load ${load()}`,
					);
					rows.push({ variant, op, round, result });
				}
			}
		}

		const cpu1 = systemCpu();
		const wall = (Date.now() - startedAt) / 1000;
		const busy = cpu0 && cpu1 ? ((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * 100 : undefined;
		const copyMs = median(rows.filter((r) => r.variant === 'copy').map((r) => r.result.ms));
		console.log(
			`\nsummary (medians; × copy = time / plain copy time, copy ${(copyMs / 1000).toFixed(2)}s; ` +
				'MiB per cpu-s = size / CPU seconds of node + age, which load from other jobs disturbs less than wall time):',
		);
		console.log('  op       variant      MiB/s  × copy  MiB/cpu-s  cpu s   peak RSS node (growth) + age');
		for (const op of ['encrypt', 'decrypt'] as Op[]) {
			for (const variant of variants) {
				if (variant === 'copy' && op === 'decrypt') continue;
				const mine = rows.filter((r) => r.variant === variant && r.op === op).map((r) => r.result);
				if (!mine.length) continue;
				const ms = median(mine.map((r) => r.ms));
				const peak = Math.max(...mine.map((r) => r.rssPeakKiB)) / 1024;
				const growth = Math.max(...mine.map((r) => r.rssPeakKiB - r.rssStartKiB)) / 1024;
				const childPeak = Math.max(0, ...mine.map((r) => r.childPeakKiB ?? 0)) / 1024;
				const cpuS = median(mine.map((r) => r.cpuSeconds + (r.childCpuSeconds ?? 0)));
				console.log(
					`  ${op.padEnd(8)} ${variant.padEnd(9)} ${(size / MiB / (ms / 1000)).toFixed(0).padStart(7)} ` +
						`${(ms / copyMs).toFixed(2).padStart(7)} ${(size / MiB / cpuS).toFixed(0).padStart(10)} ${cpuS.toFixed(2).padStart(6)}   ` +
						`${peak.toFixed(0)} MiB (+${growth.toFixed(0)})${childPeak ? ` + ${childPeak.toFixed(0)} MiB` : ''}`,
				);
			}
		}
		console.log(
			`\nmachine: ${os.cpus().length} cores, ${busy === undefined ? 'n/a' : busy.toFixed(0)}% busy over ${wall.toFixed(0)}s ` +
				`(all processes, other jobs included), load average now ${load()}`,
		);
	} finally {
		cleanup();
	}
}

if (process.argv.includes('--worker')) {
	let text = '';
	process.stdin.on('data', (d: Buffer) => (text += d.toString()));
	process.stdin.on('end', () => {
		runWorker(JSON.parse(text) as WorkerRequest)
			.then((result) => console.log(`BENCH_RESULT ${JSON.stringify(result)}`))
			.catch((error: unknown) => {
				console.error(error);
				process.exit(1);
			});
	});
} else {
	main().catch((error: unknown) => {
		console.error(error);
		process.exit(1);
	});
}
