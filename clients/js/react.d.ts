// Types of socket-serve-client/react (src/react.js).
import type { ConnectOptions, EventListener, LifecycleEvents, Socket } from "./index.js";

/**
 * Opens a socket while the component is mounted (made in an effect, so `null` on the first
 * render and in server rendering), re-renders on lifecycle changes, and disconnects on
 * unmount or when `url` changes. `options` are read when the socket is made. A falsy `url`
 * opens nothing.
 */
export function useSocket(url: string | null | undefined, options?: ConnectOptions): Socket | null;

/** Listens to `event` on `socket` while mounted; always calls the latest `fn`. */
export function useEvent<E extends keyof LifecycleEvents>(socket: Socket | null, event: E, fn: LifecycleEvents[E]): void;
export function useEvent<T = any>(socket: Socket | null, event: string, fn: EventListener<T>): void;
