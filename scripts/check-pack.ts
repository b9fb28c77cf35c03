/**
 * Checks a packed tarball of this package before it is published, or packs a fresh clone and
 * checks that (what .ci/run does):
 *
 *   tsx scripts/check-pack.ts <tarball>      check a tarball (scripts/pack.sh runs this)
 *   tsx scripts/check-pack.ts --fresh-clone  clone HEAD into a temporary folder, pack it with
 *                                            scripts/pack.sh, check the tarball
 *
 * What a tarball must be: package.json complete for npm and n8n (repository, bugs, homepage,
 * author with e-mail, the n8n-community-node-package keyword, not private); `main` and every
 * node and credential of its `n8n` section present, loadable with the runtime dependencies,
 * exporting the class n8n looks for, with a light and a dark icon; every `file:` icon present; no source map whose
 * sources are not shipped; no declaration files (nothing imports this package as a library);
 * nothing outside dist/, examples/ and the top-level documents.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const TOP_LEVEL = new Set(['package.json', 'README.md', 'README.pt-BR.md', 'CHANGELOG.md', 'LICENSE']);
const FOLDERS = ['dist/', 'examples/'];

interface PackageJson {
	name?: string;
	version?: string;
	private?: boolean;
	main?: string;
	license?: string;
	homepage?: string;
	keywords?: string[];
	author?: string | { name?: string; email?: string };
	repository?: string | { url?: string };
	bugs?: string | { url?: string };
	n8n?: { nodes?: string[]; credentials?: string[] };
}

export interface PackReport {
	files: string[];
	problems: string[];
}

/** The paths in a tarball, without npm's leading `package/`. */
export function tarballFiles(tarball: string): string[] {
	return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 })
		.split('\n')
		.filter((line) => line && !line.endsWith('/'))
		.map((line) => line.replace(/^package\//, ''));
}

function extract(tarball: string, into: string): string {
	execFileSync('tar', ['-xzf', tarball, '-C', into]);
	return path.join(into, 'package');
}

function metadataProblems(pkg: PackageJson): string[] {
	const problems: string[] = [];
	const urlOf = (field: string | { url?: string } | undefined) => (typeof field === 'string' ? field : field?.url);
	const email = typeof pkg.author === 'string' ? /<[^>]+@[^>]+>/.exec(pkg.author)?.[0] : pkg.author?.email;
	if (pkg.private)
		problems.push('package.json is "private": npm would refuse to publish it (pack with scripts/pack.sh)');
	if (!pkg.name || !pkg.version) problems.push('package.json has no name or version');
	if (!pkg.license) problems.push('package.json has no license');
	if (!urlOf(pkg.repository)) problems.push('package.json has no repository url');
	if (!urlOf(pkg.bugs)) problems.push('package.json has no bugs url');
	if (!pkg.homepage) problems.push('package.json has no homepage');
	if (!email) problems.push('package.json has no author e-mail');
	if (!pkg.keywords?.includes('n8n-community-node-package'))
		problems.push('package.json keywords lack n8n-community-node-package (n8n lists community nodes by it)');
	if (!pkg.main) problems.push('package.json has no main');
	if (!pkg.n8n?.nodes?.length) problems.push('package.json declares no n8n nodes');
	return problems;
}

/** Problems of the files themselves: declared files missing, icons, maps, declarations, strays. */
function fileProblems(pkg: PackageJson, files: string[], read: (file: string) => string): string[] {
	const problems: string[] = [];
	const shipped = new Set(files);
	const declared = [...(pkg.main ? [pkg.main] : []), ...(pkg.n8n?.nodes ?? []), ...(pkg.n8n?.credentials ?? [])];
	for (const file of declared.map((f) => path.posix.normalize(f)))
		if (!shipped.has(file)) problems.push(`${file} is declared in package.json but not in the tarball`);
	for (const file of files) {
		if (file.endsWith('.d.ts')) problems.push(`${file}: a declaration file (nothing imports this package's types)`);
		else if (!TOP_LEVEL.has(file) && !FOLDERS.some((folder) => file.startsWith(folder)))
			problems.push(`${file}: not part of the package (only dist/, examples/ and the top-level documents)`);
		if (file.endsWith('.map')) {
			const map = JSON.parse(read(file)) as { sources?: string[]; sourceRoot?: string };
			for (const source of map.sources ?? []) {
				const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), map.sourceRoot ?? '', source));
				if (!shipped.has(target)) problems.push(`${file} points at ${target}, which is not shipped`);
			}
		}
		if (file.endsWith('.js') && file.startsWith('dist/')) {
			for (const [, icon] of read(file).matchAll(/['"]file:([^'"]+)['"]/g)) {
				const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), icon));
				if (!shipped.has(target)) problems.push(`${file} names icon file:${icon}, which is not shipped`);
			}
		}
	}
	return problems;
}

/**
 * Requires main and each node and credential in a child node (with `nodeModules` as the
 * package's node_modules) and checks that each exports the class n8n instantiates (the
 * file's name up to the first dot) and gives a light and a dark icon.
 */
function loadProblems(packageDir: string, pkg: PackageJson, nodeModules: string): string[] {
	symlinkSync(nodeModules, path.join(packageDir, 'node_modules'), 'dir');
	const entries = [...(pkg.n8n?.nodes ?? []), ...(pkg.n8n?.credentials ?? [])];
	const probe = `
		const path = require('node:path');
		const [dir, main, ...entries] = JSON.parse(process.argv[1]);
		const problems = [];
		const load = (file) => { try { return require(path.join(dir, file)); } catch (e) { problems.push(file + ' does not load: ' + e.message.split('\\n')[0]); } };
		load(main);
		for (const file of entries) {
			const mod = load(file);
			const name = path.basename(file).split('.')[0];
			if (!mod) continue;
			if (typeof mod[name] !== 'function') { problems.push(file + ' exports no class ' + name); continue; }
			const made = new mod[name]();
			const icon = made.description ? made.description.icon : made.icon;
			if (!icon || typeof icon !== 'object' || !icon.light || !icon.dark)
				problems.push(file + ' has no light and dark icon ({ light: "file:….svg", dark: "file:….dark.svg" })');
		}
		process.stdout.write(JSON.stringify(problems));`;
	const out = execFileSync(process.execPath, ['-e', probe, JSON.stringify([packageDir, pkg.main, ...entries])], {
		encoding: 'utf8',
	});
	return JSON.parse(out) as string[];
}

/** Checks a tarball; with `nodeModules`, also loads what n8n loads from it. */
export function checkTarball(tarball: string, nodeModules?: string): PackReport {
	const work = mkdtempSync(path.join(tmpdir(), 'totvs-pack-check-'));
	try {
		const files = tarballFiles(tarball);
		const packageDir = extract(tarball, work);
		const read = (file: string) => readFileSync(path.join(packageDir, file), 'utf8');
		if (!files.includes('package.json')) return { files, problems: ['the tarball has no package.json'] };
		const pkg = JSON.parse(read('package.json')) as PackageJson;
		const problems = [...metadataProblems(pkg), ...fileProblems(pkg, files, read)];
		if (nodeModules && problems.length === 0) problems.push(...loadProblems(packageDir, pkg, nodeModules));
		return { files, problems };
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}

/** Clones HEAD of this repository into a temporary folder, packs it with scripts/pack.sh and checks the tarball. */
export function packFreshClone(): { tarball: string; report: PackReport; cleanup: () => void } {
	const work = mkdtempSync(path.join(tmpdir(), 'totvs-fresh-clone-'));
	const cleanup = () => rmSync(work, { recursive: true, force: true });
	try {
		const clone = path.join(work, 'repo');
		execFileSync('git', ['clone', '--quiet', ROOT, clone], { stdio: 'inherit' });
		// The dependencies of this checkout serve the clone (its package-lock.json is the same commit's or older).
		symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
		const out = execFileSync('bash', [path.join(clone, 'scripts/pack.sh'), '--dest', work], {
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const tarball = out.trim().split('\n').pop()!;
		return { tarball, report: checkTarball(tarball, path.join(ROOT, 'node_modules')), cleanup };
	} catch (error) {
		cleanup();
		throw error;
	}
}

function print(tarball: string, report: PackReport): void {
	const size = (statSync(tarball).size / 1024).toFixed(0);
	const count = (test: (f: string) => boolean) => report.files.filter(test).length;
	console.log(
		`${path.basename(tarball)}: ${report.files.length} files, ${size} KiB packed; ` +
			`${count((f) => f.endsWith('.js'))} .js, ${count((f) => f.endsWith('.svg'))} icons, ` +
			`${count((f) => f.startsWith('examples/'))} examples, ${count((f) => f.endsWith('.map'))} maps`,
	);
	for (const problem of report.problems) console.log(`  problem: ${problem}`);
	if (report.problems.length) process.exitCode = 1;
	else console.log('  pack check passed');
}

if (require.main === module) {
	const arg = process.argv[2];
	if (arg === '--fresh-clone') {
		let packed: ReturnType<typeof packFreshClone> | undefined;
		try {
			packed = packFreshClone();
		} catch (error) {
			// The build's or npm's own messages are above; the stack trace would only hide them.
			console.error(
				`pack check failed: a fresh clone of HEAD did not build and pack (${(error as Error).message.split('\n')[0]})`,
			);
			process.exitCode = 1;
		}
		if (packed) {
			try {
				print(packed.tarball, packed.report);
			} finally {
				packed.cleanup();
			}
		}
	} else if (arg && existsSync(arg)) {
		print(arg, checkTarball(arg, path.join(ROOT, 'node_modules')));
	} else {
		console.error('usage: tsx scripts/check-pack.ts <tarball> | --fresh-clone');
		process.exitCode = 2;
	}
}
