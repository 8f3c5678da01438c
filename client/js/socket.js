// One Socket.IO connection for the whole app (`appSocket`), opened after log-in and closed
// on log-out or "Leave quickly"; the home listens on it for `me:state`, and an open session
// (`SessionConnection`) joins its session over it: `session:join` on every (re)connect, acks
// with a timeout, and an in-memory outbox so a submit is confirmed only by the server's ack
// and is resent with the same client_id after a reconnect.

import { io } from '../vendor/socket.io-client-4.8.1/socket.io.esm.min.js';

const ACK_TIMEOUT_MS = 10000;
const SUBMIT_TIMEOUT_MS = 15000;
const RETRY_AFTER_MS = 3000;
const RESYNC_SPREAD_MS = 2000;

/** Error codes after which the same request may simply be sent again. */
export function isTransient(error) {
  return !error || error.code === 'offline' || error.code === 'timeout';
}

export function newClientId() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const OFFLINE_ERROR = {
  code: 'offline',
  message: "You're not connected right now. Your work is kept and will be sent when you're back.",
};
const TIMEOUT_ERROR = {
  code: 'timeout',
  message: "Mend didn't answer in time. We'll try again.",
};

/**
 * The app's one connection. Views subscribe with `on(event, fn)` (which returns the
 * unsubscribe function) instead of touching the socket, so a view that goes away leaves no
 * listener behind and the connection outlives it.
 *
 * Besides every server event, listeners can take these local ones:
 *   'connect' (also when the server says `resync`: catch up as after a reconnect),
 *   'disconnect' (reason), 'connect_error' (error),
 *   'status' (status), 'kicked' (the server closed us), 'refused' ({code, message}).
 * status: 'closed' | 'connecting' | 'connected' | 'reconnecting' | 'offline'
 */
class AppSocket {
  constructor() {
    this.socket = null;
    this.status = 'closed';
    this.left = false; // "Leave quickly": never connect again in this page
    this.listeners = new Map(); // event -> Set(fn)
    this._onOnline = () => this._onNetworkChange(true);
    this._onOffline = () => this._onNetworkChange(false);
    window.addEventListener('mend:leave', () => {
      this.left = true;
      this.close();
    });
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  /** Connect (once logged in). Calling it again while open does nothing. */
  open() {
    if (this.left) return null;
    if (this.socket) return this.socket;
    // forceNew: a connection after a log-out must not reuse the old user's Manager.
    const socket = io({
      forceNew: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    this.socket = socket;
    window.__mendSocket = socket; // for "Leave quickly" (js/help.js)
    socket.on('connect', () => {
      this._setStatus('connected');
      this._fire('connect');
    });
    socket.on('disconnect', (reason) => {
      if (socket !== this.socket) return;
      if (reason === 'io server disconnect') {
        // The server closed us on purpose (a log-out elsewhere); it won't reconnect by itself.
        this._setStatus('reconnecting');
        this._fire('disconnect', reason);
        this._fire('kicked');
        return;
      }
      this._setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
      this._fire('disconnect', reason);
    });
    socket.on('connect_error', (error) => {
      if (socket !== this.socket) return;
      if (!socket.active) {
        // Refused by the server (not a network problem): socket.io won't retry this.
        this._setStatus('offline');
        this._fire('connect_error', error);
        this._fire('refused', describeRefusal(error));
        return;
      }
      // 'Offline' only when the device says so; a server that is away is 'reconnecting'
      // for as long as socket.io keeps trying.
      this._setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
      this._fire('connect_error', error);
    });
    socket.on('resync', () => {
      // Pushes meant for us may have been lost (the server's link between its workers
      // dropped a while): do what a reconnect does — rejoin the open session, reload the
      // home. Spread over a moment: every socket on that worker is told at once.
      setTimeout(() => {
        if (socket === this.socket && socket.connected) this._fire('connect');
      }, Math.random() * RESYNC_SPREAD_MS);
    });
    socket.onAny((event, ...args) => this._fire(event, ...args));
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    this._setStatus('connecting');
    return socket;
  }

  /** Disconnect for good (log-out, log-in ended, Leave quickly). Listeners stay subscribed. */
  close() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    if (window.__mendSocket === socket) window.__mendSocket = null;
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    socket.disconnect();
    socket.removeAllListeners();
    socket.offAny();
    this._setStatus('closed');
  }

  /** Connect again after the server closed the socket (once we know we're still logged in). */
  reconnect() {
    if (this.socket && !this.socket.connected) this.socket.connect();
  }

  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event)?.delete(fn);
  }

  /** Emit with an ack; always resolves to an ack-shaped object, never throws. */
  request(event, payload, timeout = ACK_TIMEOUT_MS) {
    return new Promise((resolve) => {
      const socket = this.socket;
      if (!socket || !socket.connected) {
        resolve({ ok: false, error: OFFLINE_ERROR });
        return;
      }
      socket.timeout(timeout).emit(event, payload, (err, response) => {
        if (err) resolve({ ok: false, error: socket.connected ? TIMEOUT_ERROR : OFFLINE_ERROR });
        else if (!response || typeof response !== 'object') {
          resolve({ ok: false, error: { code: 'internal', message: 'Mend sent an answer we could not read.' } });
        } else if (response.ok === false) {
          const error = response.error || {};
          resolve({
            ok: false,
            error: {
              code: error.code || 'internal',
              message: error.message || 'Something went wrong. Please try again.',
            },
          });
        } else resolve(response);
      });
    });
  }

  _onNetworkChange(online) {
    const socket = this.socket;
    if (!socket) return;
    if (!online) {
      // The device has no network: say so now, and drop the transport rather than wait
      // for a ping timeout, so drafts and submits wait for the reconnect instead of timing out.
      this._setStatus('offline');
      if (socket.io.engine) socket.io.engine.close();
      return;
    }
    if (!socket.connected) {
      this._setStatus('reconnecting');
      if (!socket.active) socket.connect();
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._fire('status', status);
  }

  _fire(event, ...args) {
    const fns = this.listeners.get(event);
    if (!fns) return;
    for (const fn of [...fns]) {
      try {
        fn(...args);
      } catch (error) {
        console.error(`Mend: a '${event}' listener failed`, error); // eslint-disable-line no-console
      }
    }
  }
}

export const appSocket = new AppSocket();

/**
 * One open session, over the app's connection.
 * status: 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed'
 * callbacks: onState(state, source), onPresence(presence), onStatus(status),
 *   onOutbox(stepId), onSubmitted(stepId, entry), onSubmitError(stepId, error),
 *   onJoined(), onJoinError(error), onAuthLost(error), onKicked()
 */
export class SessionConnection {
  constructor(sessionId, callbacks = {}) {
    this.sessionId = sessionId;
    this.cb = callbacks;
    this.state = null;
    this.outbox = new Map(); // step_id -> {client_id, step_id, body, fields, inFlight, attempts}
    this.status = 'connecting';
    this.joined = false;
    this.closed = false;
    this.app = appSocket;
    this._unsubscribe = [];
    this._onOnline = () => this._onNetworkChange(true);
    this._onOffline = () => this._onNetworkChange(false);
  }

  /** The shared Socket.IO socket (null when the app is not connected at all). */
  get socket() {
    return this.app.socket;
  }

  start() {
    const app = this.app;
    app.open(); // normally already open: the app opens it at log-in
    const listen = (event, fn) => this._unsubscribe.push(app.on(event, fn));
    listen('connect', () => this._join());
    listen('disconnect', () => {
      this.joined = false;
      if (this.closed) return;
      this._setStatus(app.status === 'offline' ? 'offline' : 'reconnecting');
    });
    listen('kicked', () => {
      if (!this.closed) this._emitCb('onKicked');
    });
    listen('connect_error', () => {
      if (!this.closed) this._setStatus(app.status === 'offline' ? 'offline' : 'reconnecting');
    });
    listen('refused', (error) => {
      if (!this.closed) this._emitCb('onAuthLost', error);
    });
    listen('session:state', (state) => this._applyState(state, 'push'));
    listen('presence', (presence) => {
      if (presence && presence.session_id === this.sessionId) this._emitCb('onPresence', presence);
    });
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    this._setStatus(app.status === 'offline' ? 'offline' : 'connecting');
    if (app.connected) this._join();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    this._unsubscribe.forEach((off) => off());
    this._unsubscribe = [];
    // The connection stays open for the rest of the app; only this session is left.
    if (this.app.connected && this.joined) this.app.socket.emit('session:leave', { session_id: this.sessionId });
    this.joined = false;
    this.status = 'closed';
  }

  /** Reconnect after the server closed the socket (used once we know we're still logged in). */
  reconnect() {
    if (!this.closed) this.app.reconnect();
  }

  get connected() {
    return Boolean(this.app.connected && this.joined);
  }

  /** Emit with an ack; always resolves to an ack-shaped object, never throws. */
  request(event, payload, timeout = ACK_TIMEOUT_MS) {
    return this.app.request(event, payload, timeout);
  }

  saveDraft(stepId, body, fields) {
    return this.request('entry:draft', {
      session_id: this.sessionId, step_id: stepId, body, fields,
    });
  }

  ready(stepId) {
    return this.request('step:ready', { session_id: this.sessionId, step_id: stepId });
  }

  setTyping(stepId, typing) {
    if (!this.connected) return;
    this.request('presence:typing', { session_id: this.sessionId, step_id: stepId, typing });
  }

  /** Queue a submit; it stays in the outbox until the server acknowledges it. */
  submit(stepId, { body = null, fields = null }) {
    const item = {
      client_id: newClientId(),
      step_id: stepId,
      body,
      fields,
      inFlight: false,
      attempts: 0,
    };
    this.outbox.set(stepId, item);
    this._emitCb('onOutbox', stepId);
    this._send(item);
    return item;
  }

  pending(stepId) {
    return this.outbox.get(stepId) || null;
  }

  // ---- internals ------------------------------------------------------------------------

  async _join() {
    if (this.closed) return;
    const result = await this.request('session:join', { session_id: this.sessionId });
    if (this.closed) return;
    if (result.ok) {
      this.joined = true;
      this._applyState(result.state, 'join');
      this._setStatus('connected');
      this._emitCb('onJoined');
      for (const item of this.outbox.values()) this._send(item);
      return;
    }
    if (isTransient(result.error)) {
      if (this.app.connected) {
        setTimeout(() => { if (!this.closed && this.app.connected && !this.joined) this._join(); }, RETRY_AFTER_MS);
      }
      return;
    }
    if (result.error.code === 'unauthenticated') this._emitCb('onAuthLost', result.error);
    else this._emitCb('onJoinError', result.error);
  }

  _applyState(state, source) {
    if (this.closed) return;
    if (!state || !state.session || state.session.id !== this.sessionId) return;
    const held = this.state;
    if (held) {
      const heldVersion = held.session.version;
      const version = state.session.version;
      // A push that isn't newer is stale; a jump is still a full view, so it's applied.
      if (source === 'push' && !(version > heldVersion)) return;
      if (source === 'join' && version < heldVersion) return;
    }
    this.state = state;
    // Anything the server already holds as submitted has left the outbox for good.
    for (const step of state.steps || []) {
      const item = this.outbox.get(step.id);
      const entry = step.mine && step.mine.entry;
      if (item && (entry || step.status === 'revealed' || step.status === 'done')) {
        this.outbox.delete(step.id);
        if (entry) this._emitCb('onSubmitted', step.id, entry);
      }
    }
    this._emitCb('onState', state, source);
  }

  async _send(item) {
    if (item.inFlight || !this.connected || this.closed) return;
    item.inFlight = true;
    item.attempts += 1;
    const payload = {
      session_id: this.sessionId,
      step_id: item.step_id,
      client_id: item.client_id,
    };
    if (item.body !== null && item.body !== undefined) payload.body = item.body;
    if (item.fields !== null && item.fields !== undefined) payload.fields = item.fields;
    const result = await this.request('entry:submit', payload, SUBMIT_TIMEOUT_MS);
    item.inFlight = false;
    if (this.closed || this.outbox.get(item.step_id) !== item) return;
    if (result.ok) {
      this.outbox.delete(item.step_id);
      this._emitCb('onSubmitted', item.step_id, result.entry);
    } else if (isTransient(result.error)) {
      this._emitCb('onOutbox', item.step_id);
      // Timed out while still connected: try again (the same client_id creates nothing twice).
      // Disconnected: the next join resends it.
      if (this.connected) setTimeout(() => this._send(item), RETRY_AFTER_MS);
    } else {
      this.outbox.delete(item.step_id);
      this._emitCb('onSubmitError', item.step_id, result.error);
    }
  }

  _onNetworkChange(online) {
    // The app's connection drops or resumes the transport; this only keeps our status true.
    if (this.closed) return;
    if (!online) this._setStatus('offline');
    else if (!this.connected) this._setStatus('reconnecting');
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emitCb('onStatus', status);
  }

  _emitCb(name, ...args) {
    const fn = this.cb[name];
    if (typeof fn === 'function') {
      try {
        fn(...args);
      } catch (error) {
        console.error(`Mend: ${name} failed`, error); // eslint-disable-line no-console
      }
    }
  }
}

export function describeRefusal(error) {
  const data = error && error.data;
  if (data && typeof data === 'object' && data.code) return data;
  const message = (error && error.message) || '';
  if (/unauthenticated|log in/i.test(message)) {
    return { code: 'unauthenticated', message: 'Your log-in has ended. Please log in again.' };
  }
  return { code: 'refused', message: message || 'Mend refused the connection.' };
}
