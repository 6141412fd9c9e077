/**
 * @module sim/pool
 * Independent simulation runs spread over worker threads (each run's result depends only on its
 * task and the seed, so the split never changes a result). A task module, loaded in each worker
 * through `worker-entry.mjs`, calls {@link serveTasks} with a function from task to result.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads'

type Reply<R> = { id: number; result: R } | { id: number; error: string } | { id: number; progress: number }

/**
 * Run `tasks` on `size` workers loading `module` (a file URL of a task module) with `data` as
 * their setup. Results come back in task order. `onProgress(i, f)` reports task i at share f.
 */
export async function runPool<T, R>(module: URL, data: unknown, tasks: readonly T[], size: number, onProgress?: (task: number, done: number) => void): Promise<R[]> {
  const results = new Array<R>(tasks.length)
  let next = 0
  const workers = Array.from({ length: Math.max(1, Math.min(size, tasks.length)) }, () => new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { module: module.href, data } }))
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= tasks.length) return resolve()
              const id = next++
              worker.postMessage({ id, task: tasks[id] })
            }
            worker.on('message', (reply: Reply<R>) => {
              if ('progress' in reply) return onProgress?.(reply.id, reply.progress)
              if ('error' in reply) return reject(new Error(reply.error))
              results[reply.id] = reply.result
              onProgress?.(reply.id, 1)
              send()
            })
            worker.on('error', reject)
            worker.on('exit', (code) => (next >= tasks.length && code === 0 ? resolve() : reject(new Error(`simulation worker exited with ${code}`))))
            send()
          }),
      ),
    )
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
  return results
}

/** In a worker: answer tasks with `run(setup, task, progress)`. */
export function serveTasks<S, T, R>(setup: (data: unknown) => S, run: (state: S, task: T, progress: (done: number) => void) => R): void {
  const port = parentPort
  if (!port) throw new Error('serveTasks runs in a worker thread')
  const state = setup((workerData as { data: unknown }).data)
  port.on('message', ({ id, task }: { id: number; task: T }) => {
    try {
      const result = run(state, task, (done) => port.postMessage({ id, progress: done }))
      port.postMessage({ id, result })
    } catch (error) {
      port.postMessage({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
    }
  })
}
