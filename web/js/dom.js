// dom.js — a tiny element builder. Text always goes in as text (never as
// HTML), so nothing a user or the API sends can become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

const dateFmt = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });
const dateTimeFmt = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso) {
  return iso ? dateFmt.format(new Date(iso)) : '';
}

export function formatDateTime(iso) {
  return iso ? dateTimeFmt.format(new Date(iso)) : '';
}

const DAY = 86400000;

// "in 30 days", "tomorrow", "3 days ago", "in 5 hours"…
export function relative(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const future = ms >= 0;
  let n;
  let unit;
  if (abs >= DAY) {
    n = future ? Math.ceil(abs / DAY) : Math.floor(abs / DAY);
    unit = 'day';
  } else if (abs >= 3600000) {
    n = Math.floor(abs / 3600000);
    unit = 'hour';
  } else if (abs >= 60000) {
    n = Math.floor(abs / 60000);
    unit = 'minute';
  } else {
    return future ? 'in less than a minute' : 'just now';
  }
  const words = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return future ? `in ${words}` : `${words} ago`;
}

// <time> with the full date in its title.
export function timeEl(iso, text) {
  return h('time', { datetime: iso, title: formatDateTime(iso) }, text);
}

// el.append without the null/false children (conditional parts).
export function add(el, ...children) {
  append(el, children);
  return el;
}
