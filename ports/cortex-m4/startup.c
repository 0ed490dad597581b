/* Bare-metal start for a Cortex-M4: the vector table, the reset handler (copy .data, zero
 * .bss, call main) and the board's console. Only the core exceptions are listed; a real
 * chip appends its peripheral interrupts. No C library start-up and no OS: the link uses
 * -nostartfiles and no syscall stubs, so a core function that needed the OS would not link. */
#include <stdint.h>
#include <string.h>

#include "board.h"

/* Linker script symbols (link.ld). */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

int main(void);
void log_port_tick_ms(void);
void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

/* The example's result for a debugger: 0 ok, 1 failed, 0xFFFFFFFF still running. */
volatile uint32_t example_result = UINT32_MAX;

/* The last console lines, for a debugger to read (no UART in the example). */
#define CONSOLE_LEN 512u
static char console[CONSOLE_LEN];
static uint32_t console_at;

void board_console(const char *line)
{
    for (const char *p = line;; p++) {
        console[console_at++ % CONSOLE_LEN] = *p == '\0' ? '\n' : *p;
        if (*p == '\0') {
            break;
        }
    }
}

void Reset_Handler(void)
{
    size_t data_len = (size_t)((uint8_t *)&_edata - (uint8_t *)&_sdata);
    size_t bss_len = (size_t)((uint8_t *)&_ebss - (uint8_t *)&_sbss);
    memcpy(&_sdata, &_sidata, data_len);
    memset(&_sbss, 0, bss_len);
    example_result = main() == 0 ? 0u : 1u;
    for (;;) {
        /* Nothing to return to: sleep until an interrupt, forever. */
        __asm__ volatile("wfi");
    }
}

void Default_Handler(void)
{
    for (;;) {
    }
}

void SysTick_Handler(void)
{
    log_port_tick_ms();
}

/* Entries of the ARMv7-M vector table up to SysTick (the architecture's exceptions). */
#define CORE_VECTORS 16

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) static const vector_t vectors[CORE_VECTORS] = {
    (vector_t)(uintptr_t)&_estack, /* initial stack pointer */
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,      /* reserved */
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,               /* reserved */
    Default_Handler, /* PendSV */
    SysTick_Handler,
};
