// dialog.js — modal dialogs on the native <dialog> element (the page behind
// is inert), with focus kept inside (Tab and Shift+Tab wrap around), Escape
// closing, and focus going back to what opened it.
import { h, add, nextId } from './dom.js';

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter(
    (el) => !el.disabled && el.getAttribute('tabindex') !== '-1' && el.getClientRects().length > 0,
  );
}

// openDialog({title, description, className, onClose}) → {dialog, body, footer, setTitle, close}
export function openDialog({ title, className = '', onClose } = {}) {
  const opener = document.activeElement;
  const titleId = nextId('dlg-title');
  const heading = h('h2', { id: titleId, class: 'dialog-title' }, title);
  const body = h('div', { class: 'dialog-body' });
  const closeBtn = h('button', { type: 'button', class: 'icon-btn dialog-x', 'aria-label': 'Close' }, '×');
  const dialog = h(
    'dialog',
    { class: `dialog ${className}`, 'aria-labelledby': titleId, 'aria-modal': 'true' },
    h('header', { class: 'dialog-head' }, heading, closeBtn),
    body,
  );
  let closed = false;

  function close(reason) {
    if (closed) return;
    closed = true;
    dialog.removeEventListener('keydown', onKey);
    if (dialog.open) dialog.close();
    dialog.remove();
    if (onClose) onClose(reason);
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }

  function onKey(ev) {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      close('escape');
      return;
    }
    if (ev.key !== 'Tab') return;
    const list = focusables(dialog);
    if (list.length === 0) {
      ev.preventDefault();
      return;
    }
    const first = list[0];
    const last = list[list.length - 1];
    const active = document.activeElement;
    if (ev.shiftKey && (active === first || !dialog.contains(active))) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && (active === last || !dialog.contains(active))) {
      ev.preventDefault();
      first.focus();
    }
  }

  closeBtn.addEventListener('click', () => close('button'));
  dialog.addEventListener('keydown', onKey);
  // The browser's own close request (Escape) goes through close() too.
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    close('escape');
  });
  document.body.appendChild(dialog);
  dialog.showModal();

  return {
    dialog,
    body,
    close,
    setTitle(text) {
      heading.textContent = text;
    },
    focusFirst(selector) {
      const el = selector ? dialog.querySelector(selector) : focusables(body)[0];
      if (el) el.focus();
    },
  };
}

// confirmDialog({title, message, confirmLabel, danger}) → Promise<boolean>
export function confirmDialog({ title, message, detail, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const d = openDialog({ title, className: 'dialog-small', onClose: () => resolve(answer) });
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => d.close('cancel') }, 'Cancel');
    const ok = h(
      'button',
      {
        type: 'button',
        class: danger ? 'btn btn-danger' : 'btn btn-primary',
        onclick: () => {
          answer = true;
          d.close('confirm');
        },
      },
      confirmLabel,
    );
    add(d.body, 
      h('p', {}, message),
      detail ? h('p', { class: 'muted' }, detail) : null,
      h('div', { class: 'dialog-actions' }, cancel, ok),
    );
    cancel.focus();
  });
}
