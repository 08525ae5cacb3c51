# Pegasus — build, test and run.
#   make            release build into build/bin
#   make SAN=1      AddressSanitizer + UndefinedBehaviorSanitizer build into build/san
#   make test       scripts/test.sh (deps, build, every test)
#   make run        scripts/run.sh

CC      ?= cc
PKGS    := libmicrohttpd libzmq hiredis sqlite3 libsodium jansson zlib
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Werror
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

ifeq ($(SAN),1)
OUT     := build/san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
OUT     := build
endif

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OUT)/obj/%.o)
LIB        := $(OUT)/libpgs.a

SERVICES := edge auth master ctl
BIN_edge   := pegasus-edge
BIN_auth   := pegasus-auth
BIN_master := pegasus-master
BIN_ctl    := pegasusctl
BINS := $(foreach s,$(SERVICES),$(OUT)/bin/$(BIN_$(s)))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)

.PHONY: all test run unit clean format
all: $(BINS)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

define service_rule
$(OUT)/bin/$(BIN_$(1)): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# Unit tests link the common library and, for service modules, the service's
# objects other than main.o.
SERVICE_OBJS = $(filter-out %/main.o,$(foreach s,$(SERVICES),$(patsubst %.c,$(OUT)/obj/%.o,$(wildcard services/$(s)/*.c))))
$(OUT)/tests/%: tests/unit/%.c $(LIB) $(SERVICE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iservices $(LDFLAGS) -o $@ $< $(SERVICE_OBJS) $(LIB) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

test:
	./scripts/test.sh

run:
	./scripts/run.sh

format:
	clang-format -i common/*.[ch] services/*/*.[ch] tests/unit/*.c

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
