# Pegasus — build, test and run.
#   make            release build into build/bin
#   make SAN=1      AddressSanitizer + UndefinedBehaviorSanitizer build into build/san
#   make test       scripts/test.sh (deps, build, every test)
#   make run        scripts/run.sh

CC      ?= cc
PKGS    := libzmq hiredis sqlite3 libsodium jansson zlib
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Werror
CFLAGS  += -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread

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

# Every services/<name>/ with a main.c is a binary pegasus-<name> (ctl is
# pegasusctl). A service needing more libraries names their pkg-config
# packages in PKGS_<name>.
SERVICES := $(patsubst services/%/main.c,%,$(wildcard services/*/main.c))
BIN_ctl  := pegasusctl
bin_name = $(if $(BIN_$(1)),$(BIN_$(1)),pegasus-$(1))
PKGS_bots := libxml-2.0 libcmark
PKGS_chat := libcurl
BINS := $(foreach s,$(SERVICES),$(OUT)/bin/$(call bin_name,$(s)))

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
$(OUT)/obj/services/$(1)/%.o: CFLAGS += $(if $(PKGS_$(1)),$(shell pkg-config --cflags $(PKGS_$(1)) 2>/dev/null))
$(OUT)/bin/$(call bin_name,$(1)): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $(if $(PKGS_$(1)),$(shell pkg-config --libs $(PKGS_$(1)) 2>/dev/null))
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# Unit tests link the common library and, for service modules, the service's
# objects other than main.o.
SERVICE_OBJS = $(filter-out %/main.o,$(foreach s,$(SERVICES),$(patsubst %.c,$(OUT)/obj/%.o,$(wildcard services/$(s)/*.c))))
ALL_SERVICE_PKGS := $(foreach s,$(SERVICES),$(PKGS_$(s)))
SERVICE_LIBS = $(if $(strip $(ALL_SERVICE_PKGS)),$(shell pkg-config --libs $(ALL_SERVICE_PKGS) 2>/dev/null))
$(OUT)/tests/%: tests/unit/%.c $(LIB) $(SERVICE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iservices $(LDFLAGS) -o $@ $< $(SERVICE_OBJS) $(LIB) $(LDLIBS) $(SERVICE_LIBS) -lcmocka

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
