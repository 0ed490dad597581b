/* The host side: replies turned into plain structs (AppInfo, StatusReply), and waiting
 * for a device to come back from a reboot. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hosted_internal.h"

/* Between Hello attempts while a device reboots: short enough to notice it quickly. */
#define REBOOT_POLL_MS 100

const char *otk_hosted_slot_state_name(otk_hosted_slot_state_t state)
{
    static const char *const names[] = {"-",       "NEW",     "PENDING_VERIFY", "VALID",
                                        "INVALID", "ABORTED", "UNDEFINED"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "?";
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

void client_app(const Otkctrl__AppInfo *in, otk_hosted_app_t *out)
{
    memset(out, 0, sizeof *out);
    if (in == NULL) {
        return;
    }
    out->present = true;
    copy_str(out->project_name, sizeof out->project_name, in->project_name);
    copy_str(out->version, sizeof out->version, in->version);
    copy_str(out->idf_ver, sizeof out->idf_ver, in->idf_ver);
    copy_str(out->date, sizeof out->date, in->date);
    copy_str(out->time, sizeof out->time, in->time);
    out->secure_version = in->secure_version;
    if (in->elf_sha256.len == sizeof out->elf_sha256) {
        memcpy(out->elf_sha256, in->elf_sha256.data, sizeof out->elf_sha256);
    }
}

static void client_session(const Otkctrl__SessionInfo *in, otk_hosted_session_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (in == NULL) {
        return;
    }
    out->state = (otk_hosted_session_state_t)in->state;
    if (in->sha256.len == sizeof out->sha256) {
        memcpy(out->sha256, in->sha256.data, sizeof out->sha256);
        out->sha_known = true;
    }
    out->image_size = in->image_size;
    out->received = in->received;
    out->next_offset = in->next_offset;
    copy_str(out->slot, sizeof out->slot, in->slot);
    out->chunk_size = in->chunk_size;
    out->duplicates = in->duplicates;
    out->gaps = in->gaps;
    out->last_esp_err = in->last_esp_err;
    copy_str(out->last_message, sizeof out->last_message, in->last_message);
}

void client_status(const Otkctrl__StatusReply *in, otk_hosted_status_t *out)
{
    memset(out, 0, sizeof *out);
    client_app(in->running, &out->running);
    copy_str(out->running_slot, sizeof out->running_slot, in->running_slot);
    for (size_t i = 0; i < in->n_slots && out->slot_count < OTK_HOSTED_STATUS_SLOTS_MAX; i++) {
        const Otkctrl__SlotInfo *s = in->slots[i];
        otk_hosted_slot_t *o = &out->slots[out->slot_count++];
        copy_str(o->label, sizeof o->label, s->label);
        o->address = s->address;
        o->size = s->size;
        o->subtype = s->subtype;
        o->state = (unsigned)s->state <= OTK_HOSTED_SLOT_UNDEFINED
                       ? (otk_hosted_slot_state_t)s->state : OTK_HOSTED_SLOT_UNDEFINED;
        o->running = s->running;
        o->boots_next = s->boots_next;
        client_app(s->app, &o->app);
    }
    client_session(in->session, &out->session);
    if (in->link != NULL) {
        out->link.frames_ok = in->link->frames_ok;
        out->link.frames_dropped = in->link->frames_dropped;
        out->link.bytes_discarded = in->link->bytes_discarded;
        out->link.bad_messages = in->link->bad_messages;
        out->link.busy_refusals = in->link->busy_refusals;
        out->link.auth_failures = in->link->auth_failures;
    }
    out->boot_id = in->boot_id;
    out->power_ons = in->power_ons;
    copy_str(out->chip, sizeof out->chip, in->chip);
}

otk_hosted_err_t otk_hosted_wait_reboot(otk_hosted_client_t *c, uint64_t before_boot_id,
                                        uint32_t timeout_ms, otk_diag_t *diag)
{
    if (c->connected && c->hello.boot_id != before_boot_id) {
        return OTK_HOSTED_OK; /* already seen it back */
    }
    uint64_t deadline = otk_link_now_ms() + timeout_ms;
    /* Each Hello may wait less than a normal call: the device is either rebooting (no
     * answer yet) or back (it answers at once). */
    uint32_t saved_timeout = c->timeout_ms, saved_retries = c->retries;
    c->timeout_ms = saved_timeout < 500u ? saved_timeout : 500u;
    c->retries = 0;
    otk_hosted_err_t err = OTK_HOSTED_ERR_TIMEOUT;
    otk_diag_t last;
    otk_diag_clear(&last);
    if (c->connected && c->uri.kind != OTK_LINK_SERIAL) {
        /* A rebooting device drops every socket link: wait for ours to go down rather
         * than knock again and again. */
        while (c->link != NULL && otk_link_now_ms() < deadline) {
            Otkctrl__Response *r = NULL;
            if (client_recv(c, (int)(deadline - otk_link_now_ms()), &r, &last) != OTK_HOSTED_OK) {
                break;
            }
            otkctrl__response__free_unpacked(r, NULL);
        }
    }
    while (otk_link_now_ms() < deadline) {
        /* A serial line stays open across the reboot: ask again on it. */
        err = c->connected && c->uri.kind == OTK_LINK_SERIAL ? client_hello(c, &last)
                                                              : otk_hosted_connect(c, &last);
        if (err == OTK_HOSTED_OK && c->hello.boot_id != before_boot_id) {
            break;
        }
        if (err == OTK_HOSTED_OK) {
            err = OTK_HOSTED_ERR_TIMEOUT; /* still the old boot: not rebooted yet */
            snprintf(last.msg, sizeof last.msg, "the device has not rebooted yet");
        }
        if (err == OTK_HOSTED_UNAUTHENTICATED || err == OTK_HOSTED_ERR_LOCAL) {
            break;
        }
        if (c->uri.kind != OTK_LINK_SERIAL) {
            otk_hosted_disconnect(c);
        }
        struct timespec ts = {0, REBOOT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    c->timeout_ms = saved_timeout;
    c->retries = saved_retries;
    if (err != OTK_HOSTED_OK) {
        otk_diag_set(diag, "%s: the device did not come back within %u ms (%s)", c->uri_text,
                     (unsigned)timeout_ms, last.msg);
    }
    return err;
}
