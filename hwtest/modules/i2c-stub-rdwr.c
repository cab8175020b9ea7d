// SPDX-License-Identifier: GPL-2.0-or-later
/*
    i2c-stub-rdwr.c - I2C/SMBus chip emulator that also answers plain I2C
    messages (I2C_RDWR)

    Copyright (c) 2004 Mark M. Hoffman <mhoffman@lightlink.com>
    Copyright (C) 2007-2014 Jean Delvare <jdelvare@suse.de>

    A copy of Linux 6.1's drivers/i2c/i2c-stub.c for podd's hardware test.
    The stock stub answers SMBus transfers only; periph's Linux I2C driver,
    which podd uses, sends I2C_RDWR messages. Changes from the original:
    - stub_master_xfer, and I2C_FUNC_I2C in the functionality: a write
      message's first byte sets the register pointer and the following bytes
      are written from there; a read message reads from the pointer. Both
      auto-increment the pointer. A chip of reg_width 2 has 16-bit
      registers sent most significant byte first (TMP117, ADS1115); one of
      reg_width 1 (the default) has 8-bit registers (MAX30102). A message to
      an address with no chip fails with -ENXIO, an address NAK
      (Documentation/i2c/fault-codes.rst).
    - clear_reg/clear_mask: bits of one register per chip that the chip
      clears itself as soon as they are written (a reset bit).
    - rclear_reg/rclear_mask: bits of one register per chip that an I2C
      read of the register clears (a status flag such as TMP117's
      Data_Ready, which reading Configuration clears).
    - wgate_reg/wgate_on/wgate_mask: a register per chip whose I2C writes
      the chip ignores unless register wgate_on has a wgate_mask bit set
      (PCA9685's PRE_SCALE, written only while MODE1's SLEEP is set).
    - fifo_reg: a register per chip that is a FIFO's data port (MAX30102's
      FIFO_DATA): I2C reads of it do not move the pointer and return, byte
      after byte, the SMBus block last written to that register (up to 32
      bytes), then zeros. SMBus block transfers are on by default.
    - bus_nr: the adapter's number (/dev/i2c-N), so a test can use the bus
      name a board's configuration gives.
    The SMBus side is unchanged: a test preloads the register file and reads
    back what a driver wrote through it (byte data: bits 7:0 of a register;
    word data: the whole 16-bit register).
*/

#define pr_fmt(fmt) "i2c-stub-rdwr: " fmt

#include <linux/errno.h>
#include <linux/i2c.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/slab.h>

#define MAX_CHIPS 10

/*
 * Support for I2C_FUNC_SMBUS_BLOCK_DATA is disabled by default and must
 * be enabled explicitly by setting the I2C_FUNC_SMBUS_BLOCK_DATA bits
 * in the 'functionality' module parameter.
 */
#define STUB_FUNC_DEFAULT \
		(I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE | \
		 I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA | \
		 I2C_FUNC_SMBUS_I2C_BLOCK)

#define STUB_FUNC_ALL \
		(STUB_FUNC_DEFAULT | I2C_FUNC_SMBUS_BLOCK_DATA)

static unsigned short chip_addr[MAX_CHIPS];
module_param_array(chip_addr, ushort, NULL, S_IRUGO);
MODULE_PARM_DESC(chip_addr,
		 "Chip addresses (up to 10, between 0x03 and 0x77)");

static unsigned long functionality = STUB_FUNC_ALL | I2C_FUNC_I2C;
module_param(functionality, ulong, S_IRUGO | S_IWUSR);
MODULE_PARM_DESC(functionality, "Override functionality bitfield");

/* Some chips have banked register ranges */

static u8 reg_width[MAX_CHIPS];
module_param_array(reg_width, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(reg_width, "Bytes per register in I2C messages, 1 (default) or 2, per chip");

static u8 clear_reg[MAX_CHIPS];
module_param_array(clear_reg, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(clear_reg, "A register whose clear_mask bits clear themselves once written, per chip");

static u8 clear_mask[MAX_CHIPS];
module_param_array(clear_mask, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(clear_mask, "The self-clearing bits of clear_reg, per chip");

static u8 rclear_reg[MAX_CHIPS];
module_param_array(rclear_reg, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(rclear_reg, "A register whose rclear_mask bits an I2C read clears, per chip");

static unsigned short rclear_mask[MAX_CHIPS];
module_param_array(rclear_mask, ushort, NULL, S_IRUGO);
MODULE_PARM_DESC(rclear_mask, "The bits of rclear_reg that an I2C read clears, per chip");

static u8 wgate_reg[MAX_CHIPS];
module_param_array(wgate_reg, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(wgate_reg, "A register whose I2C writes are ignored unless wgate_on has a wgate_mask bit set, per chip");

static u8 wgate_on[MAX_CHIPS];
module_param_array(wgate_on, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(wgate_on, "The register that enables writes of wgate_reg, per chip");

static u8 wgate_mask[MAX_CHIPS];
module_param_array(wgate_mask, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(wgate_mask, "The bits of wgate_on that enable writes of wgate_reg (0: no gated register), per chip");

static u8 fifo_reg[MAX_CHIPS];
module_param_array(fifo_reg, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(fifo_reg, "A FIFO data register per chip, read from its SMBus block (0: none)");

static int bus_nr = -1;
module_param(bus_nr, int, S_IRUGO);
MODULE_PARM_DESC(bus_nr, "The adapter's number, /dev/i2c-<bus_nr> (-1: the next free one)");

static u8 bank_reg[MAX_CHIPS];
module_param_array(bank_reg, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(bank_reg, "Bank register");

static u8 bank_mask[MAX_CHIPS];
module_param_array(bank_mask, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(bank_mask, "Bank value mask");

static u8 bank_start[MAX_CHIPS];
module_param_array(bank_start, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(bank_start, "First banked register");

static u8 bank_end[MAX_CHIPS];
module_param_array(bank_end, byte, NULL, S_IRUGO);
MODULE_PARM_DESC(bank_end, "Last banked register");

struct smbus_block_data {
	struct list_head node;
	u8 command;
	u8 len;
	u8 block[I2C_SMBUS_BLOCK_MAX];
};

struct stub_chip {
	u8 pointer;
	u8 width;		/* bytes per register in I2C messages */
	u8 clear_reg, clear_mask;
	u8 fifo_reg, fifo_pos;	/* FIFO data port; next byte of its block */
	u8 rclear_reg;
	u16 rclear_mask;
	u8 wgate_reg, wgate_on, wgate_mask;
	u16 words[256];		/* Byte operations use the LSB as per SMBus
				   specification */
	struct list_head smbus_blocks;

	/* For chips with banks, extra registers are allocated dynamically */
	u8 bank_reg;
	u8 bank_shift;
	u8 bank_mask;
	u8 bank_sel;		/* Currently selected bank */
	u8 bank_start;
	u8 bank_end;
	u16 bank_size;
	u16 *bank_words;	/* Room for bank_mask * bank_size registers */
};

static struct stub_chip *stub_chips;
static int stub_chips_nr;

static struct smbus_block_data *stub_find_block(struct device *dev,
						struct stub_chip *chip,
						u8 command, bool create)
{
	struct smbus_block_data *b, *rb = NULL;

	list_for_each_entry(b, &chip->smbus_blocks, node) {
		if (b->command == command) {
			rb = b;
			break;
		}
	}
	if (rb == NULL && create) {
		rb = devm_kzalloc(dev, sizeof(*rb), GFP_KERNEL);
		if (rb == NULL)
			return rb;
		rb->command = command;
		list_add(&rb->node, &chip->smbus_blocks);
	}
	return rb;
}

static u16 *stub_get_wordp(struct stub_chip *chip, u8 offset)
{
	if (chip->bank_sel &&
	    offset >= chip->bank_start && offset <= chip->bank_end)
		return chip->bank_words +
		       (chip->bank_sel - 1) * chip->bank_size +
		       offset - chip->bank_start;
	else
		return chip->words + offset;
}

/* Return negative errno on error. */
static s32 stub_xfer(struct i2c_adapter *adap, u16 addr, unsigned short flags,
	char read_write, u8 command, int size, union i2c_smbus_data *data)
{
	s32 ret;
	int i, len;
	struct stub_chip *chip = NULL;
	struct smbus_block_data *b;
	u16 *wordp;

	/* Search for the right chip */
	for (i = 0; i < stub_chips_nr; i++) {
		if (addr == chip_addr[i]) {
			chip = stub_chips + i;
			break;
		}
	}
	if (!chip)
		return -ENODEV;

	switch (size) {

	case I2C_SMBUS_QUICK:
		dev_dbg(&adap->dev, "smbus quick - addr 0x%02x\n", addr);
		ret = 0;
		break;

	case I2C_SMBUS_BYTE:
		if (read_write == I2C_SMBUS_WRITE) {
			chip->pointer = command;
			dev_dbg(&adap->dev,
				"smbus byte - addr 0x%02x, wrote 0x%02x.\n",
				addr, command);
		} else {
			wordp = stub_get_wordp(chip, chip->pointer++);
			data->byte = *wordp & 0xff;
			dev_dbg(&adap->dev,
				"smbus byte - addr 0x%02x, read  0x%02x.\n",
				addr, data->byte);
		}

		ret = 0;
		break;

	case I2C_SMBUS_BYTE_DATA:
		wordp = stub_get_wordp(chip, command);
		if (read_write == I2C_SMBUS_WRITE) {
			*wordp &= 0xff00;
			*wordp |= data->byte;
			dev_dbg(&adap->dev,
				"smbus byte data - addr 0x%02x, wrote 0x%02x at 0x%02x.\n",
				addr, data->byte, command);

			/* Set the bank as needed */
			if (chip->bank_words && command == chip->bank_reg) {
				chip->bank_sel =
					(data->byte >> chip->bank_shift)
					& chip->bank_mask;
				dev_dbg(&adap->dev,
					"switching to bank %u.\n",
					chip->bank_sel);
			}
		} else {
			data->byte = *wordp & 0xff;
			dev_dbg(&adap->dev,
				"smbus byte data - addr 0x%02x, read  0x%02x at 0x%02x.\n",
				addr, data->byte, command);
		}
		chip->pointer = command + 1;

		ret = 0;
		break;

	case I2C_SMBUS_WORD_DATA:
		wordp = stub_get_wordp(chip, command);
		if (read_write == I2C_SMBUS_WRITE) {
			*wordp = data->word;
			dev_dbg(&adap->dev,
				"smbus word data - addr 0x%02x, wrote 0x%04x at 0x%02x.\n",
				addr, data->word, command);
		} else {
			data->word = *wordp;
			dev_dbg(&adap->dev,
				"smbus word data - addr 0x%02x, read  0x%04x at 0x%02x.\n",
				addr, data->word, command);
		}

		ret = 0;
		break;

	case I2C_SMBUS_I2C_BLOCK_DATA:
		/*
		 * We ignore banks here, because banked chips don't use I2C
		 * block transfers
		 */
		if (data->block[0] == 0 ||
		    data->block[0] > I2C_SMBUS_BLOCK_MAX) {
			ret = -EINVAL;
			break;
		}
		if (data->block[0] > 256 - command)	/* Avoid overrun */
			data->block[0] = 256 - command;
		len = data->block[0];
		if (read_write == I2C_SMBUS_WRITE) {
			for (i = 0; i < len; i++) {
				chip->words[command + i] &= 0xff00;
				chip->words[command + i] |= data->block[1 + i];
			}
			dev_dbg(&adap->dev,
				"i2c block data - addr 0x%02x, wrote %d bytes at 0x%02x.\n",
				addr, len, command);
		} else {
			for (i = 0; i < len; i++) {
				data->block[1 + i] =
					chip->words[command + i] & 0xff;
			}
			dev_dbg(&adap->dev,
				"i2c block data - addr 0x%02x, read  %d bytes at 0x%02x.\n",
				addr, len, command);
		}

		ret = 0;
		break;

	case I2C_SMBUS_BLOCK_DATA:
		/*
		 * We ignore banks here, because chips typically don't use both
		 * banks and SMBus block transfers
		 */
		b = stub_find_block(&adap->dev, chip, command, false);
		if (read_write == I2C_SMBUS_WRITE) {
			len = data->block[0];
			if (len == 0 || len > I2C_SMBUS_BLOCK_MAX) {
				ret = -EINVAL;
				break;
			}
			if (b == NULL) {
				b = stub_find_block(&adap->dev, chip, command,
						    true);
				if (b == NULL) {
					ret = -ENOMEM;
					break;
				}
			}
			if (command == chip->fifo_reg)
				chip->fifo_pos = 0;
			/* Largest write sets read block length */
			if (len > b->len)
				b->len = len;
			for (i = 0; i < len; i++)
				b->block[i] = data->block[i + 1];
			/* update for byte and word commands */
			chip->words[command] = (b->block[0] << 8) | b->len;
			dev_dbg(&adap->dev,
				"smbus block data - addr 0x%02x, wrote %d bytes at 0x%02x.\n",
				addr, len, command);
		} else {
			if (b == NULL) {
				dev_dbg(&adap->dev,
					"SMBus block read command without prior block write not supported\n");
				ret = -EOPNOTSUPP;
				break;
			}
			len = b->len;
			data->block[0] = len;
			for (i = 0; i < len; i++)
				data->block[i + 1] = b->block[i];
			dev_dbg(&adap->dev,
				"smbus block data - addr 0x%02x, read  %d bytes at 0x%02x.\n",
				addr, len, command);
		}

		ret = 0;
		break;

	default:
		dev_dbg(&adap->dev, "Unsupported I2C/SMBus command\n");
		ret = -EOPNOTSUPP;
		break;
	} /* switch (size) */

	return ret;
}

static struct stub_chip *stub_find_chip(u16 addr)
{
	int i;

	for (i = 0; i < stub_chips_nr; i++)
		if (addr == chip_addr[i])
			return stub_chips + i;
	return NULL;
}

/*
 * stub_i2c_write writes one I2C write message's data (after the register
 * pointer) from the pointer on, and applies the chip's self-clearing bits.
 * Banks are ignored, as for I2C block transfers.
 */
static void stub_i2c_write(struct stub_chip *chip, const u8 *buf, int len)
{
	int i;
	u8 reg;

	for (i = 0; i < len; i++) {
		reg = chip->pointer;
		if (chip->width == 2) {
			if (i % 2 == 0) {
				chip->words[reg] = (chip->words[reg] & 0x00ff) | (buf[i] << 8);
				continue;
			}
			chip->words[reg] = (chip->words[reg] & 0xff00) | buf[i];
		} else if (!chip->wgate_mask || reg != chip->wgate_reg ||
			   (chip->words[chip->wgate_on] & chip->wgate_mask)) {
			chip->words[reg] = (chip->words[reg] & 0xff00) | buf[i];
		}
		if (chip->clear_mask && reg == chip->clear_reg)
			chip->words[reg] &= ~(u16)chip->clear_mask;
		chip->pointer++;
	}
}

static void stub_i2c_read(struct stub_chip *chip, u8 *buf, int len)
{
	struct smbus_block_data *b;
	int i;

	if (chip->fifo_reg && chip->pointer == chip->fifo_reg) {
		b = stub_find_block(NULL, chip, chip->fifo_reg, false);
		for (i = 0; i < len; i++)
			buf[i] = b && chip->fifo_pos < b->len ?
				 b->block[chip->fifo_pos++] : 0;
		return;
	}
	for (i = 0; i < len; i++) {
		if (chip->width == 2) {
			if (i % 2 == 0) {
				buf[i] = chip->words[chip->pointer] >> 8;
				continue;
			}
			buf[i] = chip->words[chip->pointer] & 0xff;
		} else {
			buf[i] = chip->words[chip->pointer] & 0xff;
		}
		if (chip->rclear_mask && chip->pointer == chip->rclear_reg)
			chip->words[chip->pointer] &= ~chip->rclear_mask;
		chip->pointer++;
	}
}

/* Return the number of messages done, or a negative errno. */
static int stub_master_xfer(struct i2c_adapter *adap, struct i2c_msg *msgs,
			    int num)
{
	struct stub_chip *chip;
	int i;

	for (i = 0; i < num; i++) {
		struct i2c_msg *m = &msgs[i];

		if (m->flags & (I2C_M_TEN | I2C_M_RECV_LEN))
			return -EOPNOTSUPP;
		chip = stub_find_chip(m->addr);
		if (!chip)
			return -ENXIO;
		if (m->flags & I2C_M_RD) {
			stub_i2c_read(chip, m->buf, m->len);
			dev_dbg(&adap->dev, "i2c read - addr 0x%02x, %u bytes\n",
				m->addr, m->len);
			continue;
		}
		if (m->len == 0)
			continue;
		chip->pointer = m->buf[0];
		stub_i2c_write(chip, m->buf + 1, m->len - 1);
		dev_dbg(&adap->dev, "i2c write - addr 0x%02x, %u bytes at 0x%02x\n",
			m->addr, m->len - 1, m->buf[0]);
	}
	return num;
}

static u32 stub_func(struct i2c_adapter *adapter)
{
	return (STUB_FUNC_ALL | I2C_FUNC_I2C) & functionality;
}

static const struct i2c_algorithm smbus_algorithm = {
	.functionality	= stub_func,
	.smbus_xfer	= stub_xfer,
	.master_xfer	= stub_master_xfer,
};

static struct i2c_adapter stub_adapter = {
	.owner		= THIS_MODULE,
	.class		= I2C_CLASS_HWMON | I2C_CLASS_SPD,
	.algo		= &smbus_algorithm,
	.name		= "SMBus stub driver (I2C_RDWR)",
};

static int __init i2c_stub_allocate_banks(int i)
{
	struct stub_chip *chip = stub_chips + i;

	chip->bank_reg = bank_reg[i];
	chip->bank_start = bank_start[i];
	chip->bank_end = bank_end[i];
	chip->bank_size = bank_end[i] - bank_start[i] + 1;

	/* We assume that all bits in the mask are contiguous */
	chip->bank_mask = bank_mask[i];
	while (!(chip->bank_mask & 1)) {
		chip->bank_shift++;
		chip->bank_mask >>= 1;
	}

	chip->bank_words = kcalloc(chip->bank_mask * chip->bank_size,
				   sizeof(u16),
				   GFP_KERNEL);
	if (!chip->bank_words)
		return -ENOMEM;

	pr_debug("Allocated %u banks of %u words each (registers 0x%02x to 0x%02x)\n",
		 chip->bank_mask, chip->bank_size, chip->bank_start,
		 chip->bank_end);

	return 0;
}

static void i2c_stub_free(void)
{
	int i;

	for (i = 0; i < stub_chips_nr; i++)
		kfree(stub_chips[i].bank_words);
	kfree(stub_chips);
}

static int __init i2c_stub_init(void)
{
	int i, ret;

	if (!chip_addr[0]) {
		pr_err("Please specify a chip address\n");
		return -ENODEV;
	}

	for (i = 0; i < MAX_CHIPS && chip_addr[i]; i++) {
		if (chip_addr[i] < 0x03 || chip_addr[i] > 0x77) {
			pr_err("Invalid chip address 0x%02x\n",
			       chip_addr[i]);
			return -EINVAL;
		}

		pr_info("Virtual chip at 0x%02x\n", chip_addr[i]);
	}

	/* Allocate memory for all chips at once */
	stub_chips_nr = i;
	stub_chips = kcalloc(stub_chips_nr, sizeof(struct stub_chip),
			     GFP_KERNEL);
	if (!stub_chips)
		return -ENOMEM;

	for (i = 0; i < stub_chips_nr; i++) {
		INIT_LIST_HEAD(&stub_chips[i].smbus_blocks);
		if (reg_width[i] > 2) {
			pr_err("Invalid reg_width %u (want 1 or 2)\n", reg_width[i]);
			ret = -EINVAL;
			goto fail_free;
		}
		stub_chips[i].width = reg_width[i] ? reg_width[i] : 1;
		stub_chips[i].clear_reg = clear_reg[i];
		stub_chips[i].clear_mask = clear_mask[i];
		stub_chips[i].fifo_reg = fifo_reg[i];
		stub_chips[i].rclear_reg = rclear_reg[i];
		stub_chips[i].rclear_mask = rclear_mask[i];
		stub_chips[i].wgate_reg = wgate_reg[i];
		stub_chips[i].wgate_on = wgate_on[i];
		stub_chips[i].wgate_mask = wgate_mask[i];

		/* Allocate extra memory for banked register ranges */
		if (bank_mask[i]) {
			ret = i2c_stub_allocate_banks(i);
			if (ret)
				goto fail_free;
		}
	}

	stub_adapter.nr = bus_nr;
	ret = i2c_add_numbered_adapter(&stub_adapter);
	if (ret)
		goto fail_free;

	return 0;

 fail_free:
	i2c_stub_free();
	return ret;
}

static void __exit i2c_stub_exit(void)
{
	i2c_del_adapter(&stub_adapter);
	i2c_stub_free();
}

MODULE_AUTHOR("Mark M. Hoffman <mhoffman@lightlink.com>");
MODULE_DESCRIPTION("I2C stub driver that also answers I2C_RDWR");
MODULE_LICENSE("GPL");

module_init(i2c_stub_init);
module_exit(i2c_stub_exit);
