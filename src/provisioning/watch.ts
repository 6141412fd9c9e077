/**
 * @module provisioning/watch
 * Reload on file change: watches the folders of the given files (editors replace files by
 * renaming, which a watch on the file itself would miss) and calls back once per burst of
 * changes, after `debounceMs` of quiet.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'

export interface FileWatch {
  close(): void
}

export function watchFiles(files: readonly string[], onChange: (changed: string[]) => void, options: { debounceMs?: number } = {}): FileWatch {
  const byDir = new Map<string, Set<string>>()
  for (const file of files) {
    const full = resolve(file)
    const dir = dirname(full)
    if (!byDir.has(dir)) byDir.set(dir, new Set())
    byDir.get(dir)!.add(basename(full))
  }
  const changed = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  const watchers: FSWatcher[] = []
  for (const [dir, names] of byDir) {
    const watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (!name || !names.has(name.toString())) return
      changed.add(resolve(dir, name.toString()))
      clearTimeout(timer)
      timer = setTimeout(() => {
        const list = [...changed]
        changed.clear()
        onChange(list)
      }, options.debounceMs ?? 300)
      timer.unref()
    })
    watcher.on('error', () => {}) // a vanished folder ends its watch; SIGHUP still reloads
    watchers.push(watcher)
  }
  return {
    close() {
      clearTimeout(timer)
      for (const w of watchers) w.close()
    },
  }
}
