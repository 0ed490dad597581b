/* The Status reply: the running app, every app slot with its otadata state and image,
 * the session in progress, and the link counters. */
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"
#include "otakit/ota.h"

/* App partitions a Status lists: ESP-IDF has at most 16 OTA slots plus factory and test;
 * more than 16 in all is a table nobody flashes (the rest are left out). */
#define STATUS_SLOTS_MAX 16u

/* The reply's storage: one Status at a time per thread (it lives until it is packed). */
static _Thread_local struct {
    Otkctrl__AppInfo running;
    hosted_app_strings_t running_strings;
    Otkctrl__SlotInfo slots[STATUS_SLOTS_MAX];
    Otkctrl__SlotInfo *slot_ptrs[STATUS_SLOTS_MAX];
    Otkctrl__AppInfo apps[STATUS_SLOTS_MAX];
    hosted_app_strings_t app_strings[STATUS_SLOTS_MAX];
    esp_app_desc_t descs[STATUS_SLOTS_MAX];
    char labels[STATUS_SLOTS_MAX][17];
    Otkctrl__SessionInfo session;
    Otkctrl__LinkStats link;
    char chip[24];
} st;

static Otkctrl__SlotState slot_state(otk_device_t *dev, const esp_partition_t *p)
{
    esp_ota_img_states_t state;
    if (otk_ota_get_state_partition(dev, p, &state) != ESP_OK) {
        return OTKCTRL__SLOT_STATE__SLOT_STATE_NONE;
    }
    switch (state) {
    case ESP_OTA_IMG_NEW:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_NEW;
    case ESP_OTA_IMG_PENDING_VERIFY:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_PENDING_VERIFY;
    case ESP_OTA_IMG_VALID:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_VALID;
    case ESP_OTA_IMG_INVALID:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_INVALID;
    case ESP_OTA_IMG_ABORTED:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_ABORTED;
    default:
        return OTKCTRL__SLOT_STATE__SLOT_STATE_UNDEFINED;
    }
}

static size_t fill_slots(otk_device_t *dev)
{
    const esp_partition_t *boot = otk_ota_get_boot_partition(dev);
    size_t n = 0;
    for (size_t i = 0; i < dev->table.count && n < STATUS_SLOTS_MAX; i++) {
        const esp_partition_t *p = &dev->table.parts[i];
        if (p->type != ESP_PARTITION_TYPE_APP) {
            continue;
        }
        Otkctrl__SlotInfo *s = &st.slots[n];
        otkctrl__slot_info__init(s);
        snprintf(st.labels[n], sizeof st.labels[n], "%s", p->label);
        s->label = st.labels[n];
        s->address = p->address;
        s->size = p->size;
        s->subtype = p->subtype;
        s->state = slot_state(dev, p);
        s->running = p == dev->running;
        s->boots_next = p == boot;
        if (otk_ota_get_partition_description(dev, p, &st.descs[n]) == ESP_OK) {
            hosted_app_info(&st.descs[n], &st.apps[n], &st.app_strings[n]);
            s->app = &st.apps[n];
        }
        st.slot_ptrs[n] = s;
        n++;
    }
    return n;
}

static void fill_session(const otk_hosted_session_t *s)
{
    Otkctrl__SessionInfo *o = &st.session;
    otkctrl__session_info__init(o);
    o->state = (Otkctrl__SessionState)s->state;
    if (s->state == OTK_SESSION_NONE) {
        return;
    }
    o->sha256.data = (uint8_t *)s->sha256;
    o->sha256.len = s->sha_known ? sizeof s->sha256 : 0; /* empty: End will bring it */
    o->image_size = s->image_size;
    o->received = s->written;
    switch (s->state) {
    case OTK_SESSION_SUSPENDED: /* where a resume will start */
        o->next_offset = s->written / OTK_HOSTED_RESUME_ALIGN * OTK_HOSTED_RESUME_ALIGN;
        break;
    case OTK_SESSION_VERIFIED:
    case OTK_SESSION_ACTIVATED:
        o->next_offset = s->image_size;
        break;
    default:
        o->next_offset = s->written;
        break;
    }
    o->slot = (char *)s->slot;
    o->chunk_size = s->chunk_size;
    o->duplicates = s->duplicates;
    o->gaps = s->gaps;
    o->last_esp_err = s->last_err;
    o->last_message = (char *)s->last_message;
}

void status_fill(otk_hosted_handler_t *h, Otkctrl__StatusReply *out)
{
    otk_device_t *dev = &h->run->dev;
    otkctrl__status_reply__init(out);
    const esp_app_desc_t *running = otk_device_running_app(dev);
    if (running != NULL) {
        hosted_app_info(running, &st.running, &st.running_strings);
        out->running = &st.running;
    }
    out->running_slot = dev->running != NULL ? (char *)dev->running->label : (char *)"";
    out->n_slots = fill_slots(dev);
    out->slots = st.slot_ptrs;
    fill_session(&h->session);
    out->session = &st.session;
    otkctrl__link_stats__init(&st.link);
    st.link.frames_ok = h->link.frames_ok;
    st.link.frames_dropped = h->link.frames_dropped;
    st.link.bytes_discarded = h->link.bytes_discarded;
    st.link.bad_messages = h->link.bad_messages;
    st.link.busy_refusals = h->link.busy_refusals;
    st.link.auth_failures = h->link.auth_failures;
    out->link = &st.link;
    out->boot_id = h->boot_id;
    out->power_ons = h->run->power_ons;
    const otk_image_chip_t *chip = otk_image_chip_by_id(dev->config.chip_id);
    snprintf(st.chip, sizeof st.chip, "%s", chip != NULL ? chip->name : "unknown");
    out->chip = st.chip;
}
