// Starts a gemma4 server process (`gemma4 serve ...` or gemma4_fake_server) for the node scripts:
// resolves to {child, url} once it prints "listening on http://HOST:PORT", rejects if it exits
// first or takes over a minute. args should ask for a free port (--port 0). With echo, the
// server's stderr is copied to this process's.
import { spawn } from 'node:child_process';

export function startServer(binary, args, { echo = false } = {}) {
  const child = spawn(binary, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 60000);
    child.stderr.on('data', (d) => {
      err += d;
      if (echo) process.stderr.write(d);
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${err}`)); });
  });
}
