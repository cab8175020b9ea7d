// SPDX-License-Identifier: GPL-2.0
/*
 * spi-virt.c - a virtual SPI controller whose last message a test reads back
 *
 * For podd's hardware test. It registers an SPI bus for each number in
 * bus_num (up to 2), each with one device bound to spidev
 * (/dev/spidev<bus>.0) through driver_override: spidev has an id table, and
 * no board describes these devices. Every message completes at once; what
 * was sent is kept and shown in debugfs, under spi-virt/spi<bus>/:
 *
 *   last_tx        the bytes of the last message's transfers, in order
 *   messages       how many messages completed since the module loaded
 *   last_cs        the chip select of the last message
 *   last_speed_hz  the clock of its last transfer
 *   last_mode      its device's SPI mode bits (SPI_CPHA 0x1, SPI_CPOL 0x2, ...)
 *   last_bits      bits per word of its last transfer
 *
 * A read transfer receives the bytes it sent (a loopback: MOSI wired to
 * MISO), zeros for a receive-only transfer, unless the bus's ads1299 flag
 * is set: its device then answers as an ADS1299's register map does
 * (datasheet SBAS499, "SPI Command Definitions"), one command per
 * transfer: RREG and WREG (ignored in RDATAC mode, as the chip ignores
 * them; the ID register is read-only), RESET (registers to their reset
 * values), SDATAC and RDATAC (the chip powers up in RDATAC mode), others
 * accepted and answered with zeros; in RDATAC mode, a transfer starting
 * with a zero byte (the clocks of a data read) receives the file frame:
 * one RDATAC frame of 27 bytes (the status word, then 8 channels of 24
 * bits) that a test writes. Its 24 registers are the file regs (read and
 * write: a test sets an ID there).
 *
 * Written against Linux 6.1's SPI core (drivers/spi/spi.c), following the
 * pattern of its simple controllers; GPL-2.0 as the kernel is.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spi/spi.h>
#include <linux/string.h>

#define VSPI_MAX_MESSAGE 65536

#define VSPI_MAX_BUSES 2
#define ADS_REGS 24
#define ADS_FRAME 27

static int bus_num[VSPI_MAX_BUSES];
static int nr_buses = 1;
module_param_array(bus_num, int, &nr_buses, 0444);
MODULE_PARM_DESC(bus_num, "SPI bus numbers (up to 2, default 0)");

static bool ads1299[VSPI_MAX_BUSES];
module_param_array(ads1299, bool, NULL, 0444);
MODULE_PARM_DESC(ads1299, "Per bus: its device answers as an ADS1299's registers");

/* ADS1299 register reset values (SBAS499, "Register Map"), ID first. */
static const u8 ads_reset[ADS_REGS] = {
	0x3E, 0x96, 0xC0, 0x60, 0x00, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61,
	0x61, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x00, 0x00, 0x00,
};

struct vspi {
	struct mutex lock;	/* guards last and the counters */
	u8 *cur;		/* the message being received */
	size_t cur_len;
	u8 *last;		/* the last complete message */
	size_t last_len;
	u32 messages, last_cs, last_speed_hz, last_mode, last_bits;
	struct dentry *dir;
	bool ads;		/* answers as an ADS1299 */
	bool rdatac;
	u8 regs[ADS_REGS];
	u8 frame[ADS_FRAME];
};

static struct platform_device *vspi_pdev[VSPI_MAX_BUSES];
static struct spi_controller *vspi_ctlr[VSPI_MAX_BUSES];
static struct dentry *vspi_root;

/* ads_transfer answers one transfer as an ADS1299 would; rx may be NULL. */
static void ads_transfer(struct vspi *v, const u8 *tx, u8 *rx, unsigned int len)
{
	unsigned int i, addr, n;
	u8 op;

	if (rx)
		memset(rx, 0, len);
	if (!tx || len == 0)
		return;
	op = tx[0];
	if (v->rdatac && op == 0x00) {
		if (rx)
			memcpy(rx, v->frame, min_t(unsigned int, len, ADS_FRAME));
		return;
	}
	addr = op & 0x1F;
	n = len >= 2 ? tx[1] + 1 : 0;
	switch (op & 0xE0) {
	case 0x20: /* RREG */
		if (v->rdatac)
			return;
		for (i = 0; i < n && 2 + i < len && addr + i < ADS_REGS; i++)
			if (rx)
				rx[2 + i] = v->regs[addr + i];
		return;
	case 0x40: /* WREG */
		if (v->rdatac)
			return;
		for (i = 0; i < n && 2 + i < len && addr + i < ADS_REGS; i++)
			if (addr + i != 0)
				v->regs[addr + i] = tx[2 + i];
		return;
	}
	switch (op) {
	case 0x06: /* RESET */
		memcpy(v->regs + 1, ads_reset + 1, ADS_REGS - 1);
		v->rdatac = true;
		break;
	case 0x10: /* RDATAC */
		v->rdatac = true;
		break;
	case 0x11: /* SDATAC */
		v->rdatac = false;
		break;
	}
}

static int vspi_transfer_one_message(struct spi_controller *ctlr,
				     struct spi_message *msg)
{
	struct vspi *v = spi_controller_get_devdata(ctlr);
	struct spi_transfer *t;
	u8 *swap;
	int status = 0;

	v->cur_len = 0;
	list_for_each_entry(t, &msg->transfers, transfer_list) {
		if (v->cur_len + t->len > VSPI_MAX_MESSAGE) {
			status = -EMSGSIZE;
			break;
		}
		if (t->tx_buf)
			memcpy(v->cur + v->cur_len, t->tx_buf, t->len);
		else
			memset(v->cur + v->cur_len, 0, t->len);
		mutex_lock(&v->lock);
		if (v->ads)
			ads_transfer(v, t->tx_buf, t->rx_buf, t->len);
		else if (t->rx_buf)
			memcpy(t->rx_buf, v->cur + v->cur_len, t->len);
		v->last_speed_hz = t->speed_hz;
		v->last_bits = t->bits_per_word;
		mutex_unlock(&v->lock);
		v->cur_len += t->len;
		msg->actual_length += t->len;
	}
	if (status == 0) {
		mutex_lock(&v->lock);
		swap = v->last;
		v->last = v->cur;
		v->cur = swap;
		v->last_len = v->cur_len;
		v->last_cs = msg->spi->chip_select;
		v->last_mode = msg->spi->mode;
		v->messages++;
		mutex_unlock(&v->lock);
	}
	msg->status = status;
	spi_finalize_current_message(ctlr);
	return status;
}

static ssize_t vspi_last_tx_read(struct file *f, char __user *buf,
				 size_t count, loff_t *pos)
{
	struct vspi *v = f->private_data;
	ssize_t n;

	mutex_lock(&v->lock);
	n = simple_read_from_buffer(buf, count, pos, v->last, v->last_len);
	mutex_unlock(&v->lock);
	return n;
}

static ssize_t vspi_regs_read(struct file *f, char __user *buf,
			      size_t count, loff_t *pos)
{
	struct vspi *v = f->private_data;
	ssize_t n;

	mutex_lock(&v->lock);
	n = simple_read_from_buffer(buf, count, pos, v->regs, ADS_REGS);
	mutex_unlock(&v->lock);
	return n;
}

static ssize_t vspi_regs_write(struct file *f, const char __user *buf,
			       size_t count, loff_t *pos)
{
	struct vspi *v = f->private_data;
	ssize_t n;

	mutex_lock(&v->lock);
	n = simple_write_to_buffer(v->regs, ADS_REGS, pos, buf, count);
	mutex_unlock(&v->lock);
	return n;
}

static ssize_t vspi_frame_write(struct file *f, const char __user *buf,
				size_t count, loff_t *pos)
{
	struct vspi *v = f->private_data;
	ssize_t n;

	mutex_lock(&v->lock);
	n = simple_write_to_buffer(v->frame, ADS_FRAME, pos, buf, count);
	mutex_unlock(&v->lock);
	return n;
}

static const struct file_operations vspi_frame_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vspi_frame_write,
	.llseek = default_llseek,
};

static const struct file_operations vspi_regs_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = vspi_regs_read,
	.write = vspi_regs_write,
	.llseek = default_llseek,
};

static const struct file_operations vspi_last_tx_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = vspi_last_tx_read,
	.llseek = default_llseek,
};

static int vspi_add_device(struct spi_controller *ctlr)
{
	struct spi_device *spi;
	int ret;

	spi = spi_alloc_device(ctlr);
	if (!spi)
		return -ENOMEM;
	spi->chip_select = 0;
	spi->max_speed_hz = ctlr->max_speed_hz;
	strscpy(spi->modalias, "spi-virt-dev", sizeof(spi->modalias));
	spi->driver_override = kstrdup("spidev", GFP_KERNEL);
	if (!spi->driver_override) {
		spi_dev_put(spi);
		return -ENOMEM;
	}
	ret = spi_add_device(spi);
	if (ret)
		spi_dev_put(spi);
	return ret;
}

static void vspi_remove(int i)
{
	struct vspi *v;
	u8 *cur, *last;

	if (!vspi_ctlr[i])
		return;
	v = spi_controller_get_devdata(vspi_ctlr[i]);
	debugfs_remove_recursive(v->dir);
	cur = v->cur;
	last = v->last;
	spi_unregister_controller(vspi_ctlr[i]);
	kfree(cur);
	kfree(last);
	platform_device_unregister(vspi_pdev[i]);
	vspi_ctlr[i] = NULL;
}

static int vspi_add(int i)
{
	struct spi_controller *ctlr;
	struct vspi *v;
	char name[16];
	int ret;

	vspi_pdev[i] = platform_device_register_simple("spi-virt", bus_num[i], NULL, 0);
	if (IS_ERR(vspi_pdev[i]))
		return PTR_ERR(vspi_pdev[i]);

	ctlr = spi_alloc_master(&vspi_pdev[i]->dev, sizeof(*v));
	if (!ctlr) {
		ret = -ENOMEM;
		goto fail_pdev;
	}
	v = spi_controller_get_devdata(ctlr);
	mutex_init(&v->lock);
	v->ads = ads1299[i];
	v->rdatac = true;
	memcpy(v->regs, ads_reset, ADS_REGS);
	v->frame[0] = 0xC0; /* a status word's 1100, no electrode off */
	v->cur = kzalloc(VSPI_MAX_MESSAGE, GFP_KERNEL);
	v->last = kzalloc(VSPI_MAX_MESSAGE, GFP_KERNEL);
	if (!v->cur || !v->last) {
		ret = -ENOMEM;
		goto fail_ctlr;
	}
	ctlr->bus_num = bus_num[i];
	ctlr->num_chipselect = 1;
	ctlr->mode_bits = SPI_CPOL | SPI_CPHA | SPI_CS_HIGH | SPI_LSB_FIRST;
	ctlr->bits_per_word_mask = SPI_BPW_RANGE_MASK(1, 32);
	ctlr->min_speed_hz = 1000;
	ctlr->max_speed_hz = 50000000;
	ctlr->transfer_one_message = vspi_transfer_one_message;

	ret = spi_register_controller(ctlr);
	if (ret)
		goto fail_ctlr;
	vspi_ctlr[i] = ctlr;

	snprintf(name, sizeof(name), "spi%d", bus_num[i]);
	v->dir = debugfs_create_dir(name, vspi_root);
	debugfs_create_file("last_tx", 0444, v->dir, v, &vspi_last_tx_fops);
	debugfs_create_u32("messages", 0444, v->dir, &v->messages);
	debugfs_create_u32("last_cs", 0444, v->dir, &v->last_cs);
	debugfs_create_u32("last_speed_hz", 0444, v->dir, &v->last_speed_hz);
	debugfs_create_u32("last_mode", 0444, v->dir, &v->last_mode);
	debugfs_create_u32("last_bits", 0444, v->dir, &v->last_bits);
	if (v->ads) {
		debugfs_create_file("regs", 0644, v->dir, v, &vspi_regs_fops);
		debugfs_create_file("frame", 0200, v->dir, v, &vspi_frame_fops);
	}

	ret = vspi_add_device(ctlr);
	if (ret) {
		vspi_remove(i);
		return ret;
	}
	pr_info("SPI bus %d bound to spidev%s\n", bus_num[i], v->ads ? ", answering as an ADS1299" : "");
	return 0;

fail_ctlr:
	kfree(v->cur);
	kfree(v->last);
	spi_controller_put(ctlr);
fail_pdev:
	platform_device_unregister(vspi_pdev[i]);
	return ret;
}

static int __init vspi_init(void)
{
	int i, ret;

	for (i = 0; i < nr_buses; i++) {
		if (bus_num[i] < 0) {
			pr_err("invalid bus_num %d\n", bus_num[i]);
			return -EINVAL;
		}
	}
	vspi_root = debugfs_create_dir("spi-virt", NULL);
	for (i = 0; i < nr_buses; i++) {
		ret = vspi_add(i);
		if (ret) {
			while (i--)
				vspi_remove(i);
			debugfs_remove_recursive(vspi_root);
			return ret;
		}
	}
	return 0;
}

static void __exit vspi_exit(void)
{
	int i;

	for (i = 0; i < nr_buses; i++)
		vspi_remove(i);
	debugfs_remove_recursive(vspi_root);
}

module_init(vspi_init);
module_exit(vspi_exit);

MODULE_DESCRIPTION("Virtual SPI controller that keeps its last message");
MODULE_LICENSE("GPL");
