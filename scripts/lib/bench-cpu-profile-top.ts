/**
 * The top self-time frames of a V8 .cpuprofile (node --cpu-prof):
 *   tsx scripts/lib/bench-cpu-profile-top.ts <file.cpuprofile> [count]
 * Self time per function (name, file, line), summed over the profile's samples, as a share of all samples.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = '20'] = process.argv.slice(2);
if (!file) throw new Error('usage: bench-cpu-profile-top.ts <file.cpuprofile> [count]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const dt = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(worker|activities|db|gateways|workflows|contract|domain)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  total += dt;
});
const top = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`total ${(total / 1e6).toFixed(1)} s of samples`);
for (const [key, us] of top) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
